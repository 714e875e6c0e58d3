"""The identity service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from licheng.identity.announcements.router import router as announcements_router
from licheng.identity.audit.router import router as audit_router
from licheng.identity.crypto import PiiCipher
from licheng.identity.demo import seed_demo
from licheng.identity.devauth.router import router as devauth_router
from licheng.identity.directory_sync import directory_sync_consumer
from licheng.identity.grants.router import router as grants_router
from licheng.identity.internal.router import router as internal_router
from licheng.identity.keycloak import KeycloakDirectory
from licheng.identity.me.router import router as me_router
from licheng.identity.people.router import router as people_router
from licheng.identity.schools.router import router as schools_router
from licheng.identity.settings import Settings
from licheng.kit.inbox import ConsumerSpec
from licheng.kit.service import ServiceDefinition, create_service_app
from licheng.kit.tokens import RsaSigner


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the identity service."""
    settings = settings or Settings()
    routers = [
        me_router,
        schools_router,
        people_router,
        grants_router,
        announcements_router,
        audit_router,
        internal_router,
    ]
    if settings.dev_issuer_enabled:
        routers.append(devauth_router)
    consumers: list[ConsumerSpec] = []
    if settings.keycloak_url:
        directory = KeycloakDirectory(
            server_url=settings.keycloak_url,
            realm=settings.keycloak_realm,
            client_id=settings.keycloak_client_id,
            client_secret=settings.keycloak_client_secret.get_secret_value(),
            initial_password=settings.keycloak_initial_password,
        )
        consumers.append(directory_sync_consumer(directory))

    async def prepare(app: FastAPI) -> None:
        app.state.pii_cipher = PiiCipher(
            encryption_key=settings.pii_encryption_key.get_secret_value(),
            index_key=settings.pii_index_key.get_secret_value(),
        )
        if settings.dev_issuer_enabled:
            key_file = settings.dev_issuer_key_file
            app.state.dev_signer = RsaSigner.from_key_file(key_file) if key_file else RsaSigner()
        if settings.seed_demo:
            await seed_demo(app.state.session_factory, app.state.pii_cipher)

    return create_service_app(
        ServiceDefinition(
            name="identity",
            title="Licheng identity: schools, people, classes, role grants, announcements",
            settings=settings,
            idempotency=True,
            event_stream="identity",
            routers=routers,
            consumers=consumers,
            on_startup=[prepare],
        )
    )
