# Standard nbdev 2 setup: every packaging fact lives in settings.ini.
from configparser import ConfigParser
import setuptools

cfg = ConfigParser(delimiters=["="])
cfg.read("settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]
setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    author=cfg["author"],
    license="Apache-2.0",
    packages=setuptools.find_packages(include=["can", "can.*", "paper_figures"]),   # paper_figures: importable by its notebooks and the tests
    package_data={"can": ["weights/*.safetensors", "weights/*.json", "weights/README.md"]},   # the shipped encoder
    python_requires=">=" + cfg["min_python"],
    install_requires=cfg["requirements"].split(),
    extras_require={"dev": cfg["dev_requirements"].split()},
    zip_safe=False,
)
