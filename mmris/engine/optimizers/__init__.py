from .ris_optim_wrapper_constructor import RISOptimWrapperConstructor

__all__ = ['RISOptimWrapperConstructor']
