from .ris_metric import RISMetric

__all__ = ['RISMetric']
