"""A model of Auterity's backend package (see ../README.md)."""
