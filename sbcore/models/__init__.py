"""Tables by aggregate. Importing creates nothing: migrations do."""

from .articles import Article, ArticleRating, ArticleView
from .automations import AutomationSent
from .channels import ChannelMessage, ChannelUser
from .conversations import (BotMessageSent, Conversation, ConversationAgent, Message, Note,
                            Rating)
from .events import Event
from .files import File, FileChunk, FileUse
from .imports import ImportedId, ImportState
from .notifications import Notification
from .realtime import StreamEvent, StreamTicket
from .reports import ReportRow
from .settings import Setting
from .system import AppliedMigration, JobRun, PipedEmail, RateHit
from .users import LoginSession, Typing, User, UserCount, UserDetail, WorkspaceSession

CORE_MODELS = [User, UserDetail, LoginSession, Typing, Setting, Conversation, Message,
               AppliedMigration, JobRun]
CONVERSATION_MODELS = [Note, Rating, BotMessageSent]
EVENT_MODELS = [Event]
ARTICLE_MODELS = [Article, ArticleRating, ArticleView]
REPORT_MODELS = [ReportRow, AutomationSent, ConversationAgent]
VISITOR_MODELS = [RateHit]
NOTIFICATION_MODELS = [Notification]
CHANNEL_MODELS = [ChannelUser, ChannelMessage]
FILE_MODELS = [File, FileUse]
STORED_FILE_MODELS = [FileChunk]
REALTIME_MODELS = [StreamEvent, StreamTicket]
PIPING_MODELS = [PipedEmail]
IMPORT_MODELS = [ImportedId, ImportState]
WORKSPACE_MODELS = [WorkspaceSession]
COUNT_MODELS = [UserCount]

__all__ = ["User", "UserDetail", "LoginSession", "Typing", "Setting", "Conversation",
           "Message", "Note", "Rating", "BotMessageSent", "AppliedMigration", "JobRun",
           "Event", "Article", "ArticleRating", "ArticleView", "ARTICLE_MODELS", "ReportRow", "AutomationSent", "ConversationAgent", "REPORT_MODELS", "CORE_MODELS", "CONVERSATION_MODELS", "EVENT_MODELS",
           "RateHit", "VISITOR_MODELS", "Notification", "NOTIFICATION_MODELS",
           "ChannelUser", "ChannelMessage", "CHANNEL_MODELS", "PipedEmail", "PIPING_MODELS",
           "File", "FileUse", "FILE_MODELS", "FileChunk", "STORED_FILE_MODELS",
           "ImportedId", "ImportState", "IMPORT_MODELS",
           "WorkspaceSession", "WORKSPACE_MODELS",
           "StreamEvent", "StreamTicket", "REALTIME_MODELS",
           "UserCount", "COUNT_MODELS"]
