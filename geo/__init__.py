"""riskmap: geospatial risk mapping for production-safety supervision (the spatial domain)."""
