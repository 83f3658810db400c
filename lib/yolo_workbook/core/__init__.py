"""The ground floor: errors, paths, file I/O (one YAML reader, one atomic writer), locks, text, fonts, OpenMP."""
