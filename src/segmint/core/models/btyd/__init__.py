"""Buy-till-you-die models: BG/NBD, MBG/NBD, Pareto/NBD (purchase counts and drop-out) and Gamma-Gamma
(spend), as scikit-learn-style estimators fitted by maximum likelihood on compressed (x, t_x, T) rows,
plus customer lifetime value."""

from segmint.core.models.btyd.bgnbd import BetaGeoFitter, ModifiedBetaGeoFitter
from segmint.core.models.btyd.clv import customer_lifetime_value
from segmint.core.models.btyd.errors import (
    ConvergenceError,
    InsufficientDataError,
    ModelInputError,
    NotFittedError,
)
from segmint.core.models.btyd.gamma_gamma import GammaGammaFitter
from segmint.core.models.btyd.pareto import ParetoNBDFitter

MODELS = {
    "bgnbd": BetaGeoFitter,
    "mbgnbd": ModifiedBetaGeoFitter,
    "pnbd": ParetoNBDFitter,
    "gg": GammaGammaFitter,
}

__all__ = [
    "MODELS",
    "BetaGeoFitter",
    "ConvergenceError",
    "GammaGammaFitter",
    "InsufficientDataError",
    "ModelInputError",
    "ModifiedBetaGeoFitter",
    "NotFittedError",
    "ParetoNBDFitter",
    "customer_lifetime_value",
]
