"""Tables by aggregate. Importing creates nothing: migrations do."""

from .articles import Article, ArticleRating
from .automations import AutomationSent
from .channels import ChannelMessage, ChannelUser
from .conversations import (BotMessageSent, Conversation, ConversationAgent, Message, Note,
                            Rating)
from .events import Event
from .notifications import Notification
from .reports import ReportRow
from .settings import Setting
from .system import AppliedMigration, JobRun, PipedEmail, RateHit
from .users import LoginSession, Typing, User, UserCount, UserDetail

CORE_MODELS = [User, UserDetail, LoginSession, Typing, Setting, Conversation, Message,
               AppliedMigration, JobRun]
CONVERSATION_MODELS = [Note, Rating, BotMessageSent]
EVENT_MODELS = [Event]
ARTICLE_MODELS = [Article, ArticleRating]
REPORT_MODELS = [ReportRow, AutomationSent, ConversationAgent]
VISITOR_MODELS = [RateHit]
NOTIFICATION_MODELS = [Notification]
CHANNEL_MODELS = [ChannelUser, ChannelMessage]
PIPING_MODELS = [PipedEmail]
COUNT_MODELS = [UserCount]

__all__ = ["User", "UserDetail", "LoginSession", "Typing", "Setting", "Conversation",
           "Message", "Note", "Rating", "BotMessageSent", "AppliedMigration", "JobRun",
           "Event", "Article", "ArticleRating", "ARTICLE_MODELS", "ReportRow", "AutomationSent", "ConversationAgent", "REPORT_MODELS", "CORE_MODELS", "CONVERSATION_MODELS", "EVENT_MODELS",
           "RateHit", "VISITOR_MODELS", "Notification", "NOTIFICATION_MODELS",
           "ChannelUser", "ChannelMessage", "CHANNEL_MODELS", "PipedEmail", "PIPING_MODELS",
           "UserCount", "COUNT_MODELS"]
