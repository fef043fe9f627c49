from setuptools import find_packages, setup


def parse_requirements(fname):
    """Read a requirements file, skipping comments and blank lines."""
    with open(fname) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def get_version():
    scope = {}
    with open('mmris/version.py') as f:
        exec(compile(f.read(), 'mmris/version.py', 'exec'), scope)
    return scope['__version__']


setup(
    name='mmris',
    version=get_version(),
    description='Referring image segmentation and MaskRIS for '
    'MMSegmentation / MMEngine',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    keywords='referring image segmentation, MaskRIS, OpenMMLab',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    include_package_data=True,
    python_requires='>=3.8',
    license='Apache License 2.0',
    install_requires=['mmcv>=2.0.0,<2.2.0'] +
    parse_requirements('requirements/runtime.txt'),
    extras_require={
        'tests': parse_requirements('requirements/tests.txt'),
        'build': parse_requirements('requirements/build.txt'),
    },
    zip_safe=False)
