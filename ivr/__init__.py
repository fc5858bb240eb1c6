"""Winet support hotline: IVR and call router driven over ARI."""
