"""The five-step engine: exposure, admissibility, eligibility, cost, ranking and obligations."""
