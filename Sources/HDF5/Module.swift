// The HDF5 module; see DESIGN.md for what it owns.
