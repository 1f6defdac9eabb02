"""What the fact tests share: stated(), fact_stated with config fields overridden."""
from trainer import facts as F

EN = "en"
ES = "es"


def stated(key, value, output, lang=EN, **overrides):
    cfg = F.default_config()
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return F.fact_stated(key, value, output, lang, cfg)
