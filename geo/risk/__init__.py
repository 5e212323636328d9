"""The risk model: pure, vectorised rules per feature class (domain.md), levels, and area aggregation."""
