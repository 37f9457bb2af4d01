from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse


def render_ops(request: HttpRequest, template: str, context: dict, *, status: int = 200):
    """Render an ops page with the admin site's context (header, sidebar, user)."""
    full = {**admin.site.each_context(request), **context}
    return TemplateResponse(request, template, full, status=status)


def actor(request: HttpRequest) -> str:
    return request.user.get_username()
