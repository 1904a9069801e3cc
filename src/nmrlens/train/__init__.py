"""Training loops and their TOML configs; every shipped checkpoint has a config that reproduces it."""
