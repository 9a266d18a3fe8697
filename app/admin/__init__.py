"""Administration: organisations, staff, workplaces and routing (admins only)."""
