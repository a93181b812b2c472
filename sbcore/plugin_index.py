"""Which distribution provides each function of sbcore's own plugins, so that a call to a
function whose plugin is not installed answers which one to install (kept in step with
the plugins by tests/test_plugin_index.py)."""

PLUGIN_FUNCTIONS = {
    "sbcore-dialogflow": (
        "dialogflow-create-intent", "dialogflow-curl", "dialogflow-entity",
        "dialogflow-get-agent", "dialogflow-get-entity", "dialogflow-get-intents",
        "dialogflow-get-token", "dialogflow-human-takeover", "dialogflow-message",
        "dialogflow-set-active-context", "dialogflow-smart-reply", "dialogflow-update-intent",
    ),
    "sbcore-gbm": (
        "gbm-send-message",
    ),
    "sbcore-google": (
        "google-language-detection-update-user", "google-translate",
    ),
    "sbcore-line": (
        "line-send-message",
    ),
    "sbcore-messenger": (
        "messenger-send-message",
    ),
    "sbcore-openai": (
        "open-ai-curl", "open-ai-message",
    ),
    "sbcore-slack": (
        "archive-slack-channels", "send-slack-message", "slack-channels", "slack-presence",
        "slack-users",
    ),
    "sbcore-telegram": (
        "telegram-send-message",
    ),
    "sbcore-viber": (
        "viber-send-message",
    ),
    "sbcore-wechat": (
        "wechat-send-message",
    ),
    "sbcore-whatsapp": (
        "whatsapp-send-message",
    ),
    "sbcore-woocommerce": (
        "woocommerce-coupon", "woocommerce-coupon-check", "woocommerce-coupon-delete-expired",
        "woocommerce-get-attribute-by-name", "woocommerce-get-attribute-by-term",
        "woocommerce-get-attributes", "woocommerce-get-customer", "woocommerce-get-order",
        "woocommerce-get-product", "woocommerce-get-product-id-by-name",
        "woocommerce-get-product-images", "woocommerce-get-product-taxonomies",
        "woocommerce-get-products", "woocommerce-get-session", "woocommerce-get-session-key",
        "woocommerce-get-taxonomies", "woocommerce-get-url", "woocommerce-get-user-orders",
        "woocommerce-is-in-stock", "woocommerce-payment-methods", "woocommerce-search-products",
        "woocommerce-shipping-locations", "wp-synch",
    ),
}


def providing_distribution(name):
    """The distribution whose plugin registers function ``name``, or None."""
    for distribution, names in PLUGIN_FUNCTIONS.items():
        if name in names:
            return distribution
    return None
