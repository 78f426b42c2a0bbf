"""The papers: their published claims (claims) and the reproduction that runs each claim's experiments and writes a
paper-vs-measured report (reproduce)."""
