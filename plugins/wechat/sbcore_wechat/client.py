"""The WeChat Official Account API: access tokens (``/cgi-bin/token``, cached until they
expire), customer service messages, temporary media, through the core's outbound
helper. WeChat answers most refusals with HTTP 200 and a non-zero ``errcode``: those
are errors too. The app secret and the access token travel in the query string, so
both are taken out of any error message."""

import json
from datetime import timedelta

from sbcore import ApiError, outbound
from sbcore.db import utcnow

from .models import WechatToken

SERVICE = "wechat"
DEFAULT_URL = "https://api.weixin.qq.com"
TOKEN_ERRORS = (40001, 40014, 42001)  # invalid credential, invalid or expired access token
EARLY = timedelta(seconds=300)  # a cached token is renewed this long before it expires


def wechat_error(response):
    try:
        body = response.json()
        return f"({body['errcode']}) {body.get('errmsg')}" if "errcode" in body else None
    except (ValueError, AttributeError, TypeError):
        return None


class OfficialAccount:
    """One Official Account: its AppID and AppSecret. ``token`` is an access token the
    caller already has (used until WeChat refuses it)."""

    def __init__(self, core, app_id, secret, token=None):
        self.core = core
        self.app_id = app_id
        self.secret = secret
        self.token = token or None
        self.base = outbound.service_url(core, SERVICE, "wechat-url")

    def scrub(self, text):
        for secret in (self.secret, self.token):
            if secret:
                text = text.replace(secret, "<secret>")
        return text

    def request(self, method, url, **kwargs):
        """The answer's JSON; ApiError 502 ``wechat-error`` for a non-2xx answer or a
        non-zero errcode (``error.errcode`` says which)."""
        try:
            response = outbound.call_service(self.core.config, method, url, SERVICE, error_message=wechat_error,
                                             **kwargs)
        except ApiError as error:
            raise ApiError(error.code, self.scrub(error.message), error.status) from None
        body = outbound.json_body(response)
        if not isinstance(body, dict):
            raise ApiError("wechat-error", "wechat answered something that is not JSON.", 502)
        if body.get("errcode") not in (None, 0):
            error = ApiError("wechat-error", self.scrub(f"wechat answered: {wechat_error(response)}"), 502)
            error.errcode = body["errcode"]
            raise error
        return body

    # --- the access token ---

    def access_token(self):
        if self.token:
            return self.token
        row = WechatToken.get_or_none(WechatToken.app_id == self.app_id)
        if row is not None and row.expires_at > utcnow() + EARLY:
            self.token = row.access_token
            return self.token
        return self.renew()

    def renew(self):
        """``GET /cgi-bin/token``: ``{"access_token", "expires_in"}``; kept in its own
        short transaction."""
        self.token = None
        answer = self.request("GET", f"{self.base}/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": self.app_id, "secret": self.secret})
        token = str(answer["access_token"])
        expires_at = utcnow() + timedelta(seconds=int(answer.get("expires_in", 7200)))

        def keep(ctx):
            if not WechatToken.update(access_token=token, expires_at=expires_at).where(
                    WechatToken.app_id == self.app_id).execute():
                WechatToken.insert(app_id=self.app_id, access_token=token,
                                   expires_at=expires_at).on_conflict_ignore().execute()
        self.core.run(keep)
        self.token = token
        return token

    def call(self, method, path, params=None, **kwargs):
        """An API call with the access token; a token WeChat no longer takes is renewed
        once and the call made again."""
        for attempt in (1, 2):
            query = {**(params or {}), "access_token": self.access_token()}
            try:
                return self.request(method, f"{self.base}{path}", params=query, **kwargs)
            except ApiError as error:
                if attempt == 2 or getattr(error, "errcode", None) not in TOKEN_ERRORS:
                    raise
                self.forget()

    def forget(self):
        refused = self.token
        self.token = None
        self.core.run(lambda ctx: WechatToken.delete().where(
            (WechatToken.app_id == self.app_id) & (WechatToken.access_token == refused)).execute())

    # --- messages and media ---

    def send(self, body):
        """``POST /cgi-bin/message/custom/send``: ``{"errcode": 0, "errmsg": "ok"}``. The
        JSON keeps non-ASCII characters as UTF-8 (WeChat shows \\u escapes literally)."""
        return self.call("POST", "/cgi-bin/message/custom/send",
                         data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                         headers={"Content-Type": "application/json; charset=utf-8"})

    def upload_image(self, name, content, mime_type):
        """``POST /cgi-bin/media/upload?type=image``: ``{"type", "media_id", "created_at"}``."""
        return self.call("POST", "/cgi-bin/media/upload", params={"type": "image"},
                         files={"media": (name, content, mime_type)})

    def media_url(self, media_id):
        """Where a user's voice or video message is downloaded (``/cgi-bin/media/get``)."""
        return f"{self.base}/cgi-bin/media/get?access_token={self.access_token()}&media_id={media_id}"
