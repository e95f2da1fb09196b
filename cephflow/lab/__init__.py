"""cephflow's lab cluster: a real, throwaway Ceph on this machine for trying runbooks."""
