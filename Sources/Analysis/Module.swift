// The Analysis module; see DESIGN.md for what it owns.
