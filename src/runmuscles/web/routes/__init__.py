"""One module per page; each builds an :class:`fastapi.APIRouter` named ``router``."""
