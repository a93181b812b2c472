"""Tables by aggregate. Importing creates nothing: migrations do."""

from .conversations import BotMessageSent, Conversation, Message, Note, Rating
from .settings import Setting
from .system import AppliedMigration, JobRun
from .users import LoginSession, Typing, User, UserDetail

CORE_MODELS = [User, UserDetail, LoginSession, Typing, Setting, Conversation, Message,
               AppliedMigration, JobRun]
CONVERSATION_MODELS = [Note, Rating, BotMessageSent]

__all__ = ["User", "UserDetail", "LoginSession", "Typing", "Setting", "Conversation",
           "Message", "Note", "Rating", "BotMessageSent", "AppliedMigration", "JobRun",
           "CORE_MODELS", "CONVERSATION_MODELS"]
