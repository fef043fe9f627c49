import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register every mmris module into the (mmris) registries.

    Args:
        init_default_scope (bool): Also make ``mmris`` the default scope,
            so that ``type='X'`` finds mmris classes first, then mmseg's and
            mmengine's. Defaults to True.
    """
    import mmris.datasets  # noqa: F401
    import mmris.engine  # noqa: F401
    import mmris.evaluation  # noqa: F401
    import mmris.models  # noqa: F401
    import mmris.visualization  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created('mmris'):
        DefaultScope.get_instance('mmris', scope_name='mmris')
    elif current.scope_name != 'mmris':
        warnings.warn(f'The current default scope {current.scope_name!r} is '
                      "not 'mmris'; register_all_modules switches it to "
                      "'mmris' (pass init_default_scope=False to keep it).")
        DefaultScope.get_instance(
            f'mmris-{datetime.datetime.now()}', scope_name='mmris')
