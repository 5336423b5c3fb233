"""Local fakes of the outside services the bot talks to, for tests and benchmarks."""
