// The Transformer module; see DESIGN.md for what it owns.
