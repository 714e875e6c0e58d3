"""Year parameters of the API: 學年度 (and 學期 for cadres), in a query string or in a path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

YearQuery = Annotated[int, Query(ge=100, le=200, description="學年度")]
SemesterQuery = Annotated[int, Query(ge=1, le=2, description="學期")]
YearPath = Annotated[int, Path(ge=100, le=200, description="學年度")]
