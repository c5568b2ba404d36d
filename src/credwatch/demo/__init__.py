"""The built-in demo incident: a deterministic synthetic breach of six ISP tenants."""

from credwatch.demo.population import TENANTS, Population, PopulationSlice, Tenant

__all__ = ["TENANTS", "Population", "PopulationSlice", "Tenant"]
