"""Rich views of cephflow's data: each module holds one renderable, a pure function of its state."""
