"""The SS 12000 connector (SS 12000:2020, the REST/OpenAPI edition, and its 2022
corrigendum): roster and roll call in, `Anmäld frånvaro` back."""
