from .conditional_prompts import ConditionalPrompts

__all__ = ['ConditionalPrompts']
