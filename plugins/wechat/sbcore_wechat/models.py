"""The plugin's one table: the Official Account's access token, kept until it expires
(WeChat limits how often /cgi-bin/token may be called, and a new token voids the old)."""

import peewee as pw

from sbcore import BaseModel


class WechatToken(BaseModel):
    app_id = pw.CharField(max_length=64, primary_key=True)
    access_token = pw.CharField(max_length=512)
    expires_at = pw.DateTimeField()

    class Meta:
        table_name = "sb_wechat_tokens"
