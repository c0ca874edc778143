"""The embedding model: what it reads for each chunk, and the vectors it makes."""
