"""Tables by aggregate. Importing creates nothing: migrations do."""

from .articles import Article, ArticleRating
from .automations import AutomationSent
from .channels import ChannelMessage, ChannelUser
from .conversations import (BotMessageSent, Conversation, ConversationAgent, Message, Note,
                            Rating)
from .events import Event
from .reports import ReportRow
from .settings import Setting
from .system import AppliedMigration, JobRun
from .users import LoginSession, Typing, User, UserDetail

CORE_MODELS = [User, UserDetail, LoginSession, Typing, Setting, Conversation, Message,
               AppliedMigration, JobRun]
CONVERSATION_MODELS = [Note, Rating, BotMessageSent]
EVENT_MODELS = [Event]
ARTICLE_MODELS = [Article, ArticleRating]
REPORT_MODELS = [ReportRow, AutomationSent, ConversationAgent]
CHANNEL_MODELS = [ChannelUser, ChannelMessage]

__all__ = ["User", "UserDetail", "LoginSession", "Typing", "Setting", "Conversation",
           "Message", "Note", "Rating", "BotMessageSent", "AppliedMigration", "JobRun",
           "Event", "Article", "ArticleRating", "ARTICLE_MODELS", "ReportRow", "AutomationSent", "ConversationAgent", "REPORT_MODELS", "CORE_MODELS", "CONVERSATION_MODELS", "EVENT_MODELS",
           "ChannelUser", "ChannelMessage", "CHANNEL_MODELS"]
