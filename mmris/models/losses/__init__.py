from .ris_cross_entropy import RISCrossEntropyLoss

__all__ = ['RISCrossEntropyLoss']
