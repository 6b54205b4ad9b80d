// The Merging module; see DESIGN.md for what it owns.
