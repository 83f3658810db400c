"""Round files: the round schema, layering (extends, profiles, local.yaml), argument rules, the check, explain."""
