"""Tables by aggregate. Importing creates nothing: migrations do."""

from .conversations import Conversation, Message
from .settings import Setting
from .system import AppliedMigration, JobRun
from .users import LoginSession, Typing, User, UserDetail

CORE_MODELS = [User, UserDetail, LoginSession, Typing, Setting, Conversation, Message,
               AppliedMigration, JobRun]

__all__ = ["User", "UserDetail", "LoginSession", "Typing", "Setting", "Conversation",
           "Message", "AppliedMigration", "JobRun", "CORE_MODELS"]
