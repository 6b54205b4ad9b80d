// The Checkpoints module; see DESIGN.md for what it owns.
