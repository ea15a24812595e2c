"""Files on a ticket: what they are is read from their content, not their name; they are stored
outside the web root under random names, images with a thumbnail that re-encoding proves decodes."""
import io
import os
import uuid
import warnings
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps

from partnernet.errors import InvalidTransition, NotFound, ValidationFailed
from partnernet.extensions import db
from partnernet.fieldwork.models import Attachment
from partnernet.tickets.models import HELD_STATUSES, Ticket
from partnernet.tickets.service import add_event, changed_meanwhile, works_on
from partnernet.transitions import compare_and_set

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# A phone's photo is 12-50 megapixels; past this an image is refused before it is decoded (a
# small file that would unpack to gigabytes: a decompression bomb).
MAX_IMAGE_PIXELS = 60_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # Pillow warns past it and refuses twice it (warnings are errors below)
THUMBNAIL_SIZE = (320, 320)
IMAGE_FORMATS = {"PNG": ("image/png", ".png"), "JPEG": ("image/jpeg", ".jpg"), "WEBP": ("image/webp", ".webp"),
                 "GIF": ("image/gif", ".gif")}
# The kind a name's extension claims; a name that claims one kind must hold that kind.
CLAIMED_KINDS = {".png": "image", ".jpg": "image", ".jpeg": "image", ".webp": "image", ".gif": "image",
                 ".pdf": "pdf", ".log": "text", ".txt": "text"}
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass
class Upload:
    filename: str
    content: bytes


@dataclass
class Recognised:
    kind: str
    content_type: str
    extension: str
    thumbnail: bytes | None = None


def attachment_directory() -> str:
    return os.path.join(current_app.instance_path, "uploads", "attachments")


def refused(message: str):
    return ValidationFailed(message, {"file": message})


def recognise(upload: Upload) -> Recognised:
    """What the file is by its content, or ValidationFailed saying why it is refused."""
    if not upload.content:
        raise refused(_("The file is empty."))
    if len(upload.content) > MAX_ATTACHMENT_BYTES:
        raise refused(_("The file is too large: at most 10 MB."))
    extension = os.path.splitext(upload.filename or "")[1].lower()
    claimed = CLAIMED_KINDS.get(extension)
    found = image(upload.content) or pdf(upload.content) or text(upload.content)
    if found is None or (claimed is None and found.kind == "text"):
        raise refused(_("Attach a photo or screenshot (PNG, JPEG, WebP, GIF), a PDF, or a text log (.log, .txt)."))
    if claimed is not None and claimed != found.kind:
        raise refused(_("The file is named %(extension)s but its content is not %(kind)s.",
                        extension=extension, kind=kind_name(claimed)))
    return found


def kind_name(kind: str) -> str:
    return {"image": _("an image"), "pdf": _("a PDF"), "text": _("text")}[kind]


def image(content: bytes) -> Recognised | None:
    """An image Pillow decodes, with its thumbnail (JPEG); None for anything else."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=list(IMAGE_FORMATS)) as picture:
                if picture.width * picture.height > MAX_IMAGE_PIXELS:
                    raise refused(_("The image is too large: at most %(megapixels)d megapixels.",
                                    megapixels=MAX_IMAGE_PIXELS // 1_000_000))
                content_type, extension = IMAGE_FORMATS[picture.format]
                return Recognised("image", content_type, extension, thumbnail_of(picture))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise refused(_("The image is too large: at most %(megapixels)d megapixels.",
                        megapixels=MAX_IMAGE_PIXELS // 1_000_000)) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        return None  # not an image, or a broken one


def thumbnail_of(picture: Image.Image) -> bytes:
    picture.draft("RGB", THUMBNAIL_SIZE)  # a JPEG decodes at a fraction of its size
    picture = ImageOps.exif_transpose(picture)  # a phone's photo the right way up
    picture.thumbnail(THUMBNAIL_SIZE)
    if picture.mode != "RGB":
        background = Image.new("RGB", picture.size, "white")
        rgba = picture.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        picture = background
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80)
    return out.getvalue()


def pdf(content: bytes) -> Recognised | None:
    return Recognised("pdf", "application/pdf", ".pdf") if content.startswith(b"%PDF-") else None


def text(content: bytes) -> Recognised | None:
    """A log: text in UTF-8 or GB18030 (Chinese Windows), with no NUL byte (binary files have them)."""
    if b"\x00" in content:
        return None
    for encoding in TEXT_ENCODINGS:
        try:
            content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return Recognised("text", "text/plain", ".txt")
    return None


def download_name(filename: str, found: Recognised) -> str:
    """The name it is downloaded as: the name given, with an extension that says what it is."""
    stem, extension = os.path.splitext(os.path.basename((filename or "").replace("\\", "/")))
    if CLAIMED_KINDS.get(extension.lower()) == found.kind:
        return (stem[:200] or "attachment") + extension.lower()
    return ((stem + extension)[:200] or "attachment") + found.extension


def can_attach(ticket: Ticket, user) -> bool:
    """The holder's users (its engineer on the ticket included) and HQ, while the ticket is held."""
    return ticket.status in HELD_STATUSES and ticket.owner_party_id is not None and works_on(ticket, user)


def attach(ticket: Ticket, user, upload: Upload, now) -> Attachment:
    """Check, store and record one file on the ticket; nothing is stored when it is refused."""
    if not works_on(ticket, user):
        raise NotFound()
    if not can_attach(ticket, user):
        raise InvalidTransition(_("Files can be attached only while the ticket is being worked on."))
    found = recognise(upload)
    # The ticket still held as the checks saw it, and locked until the attachment is recorded.
    compare_and_set(ticket, {"status": ticket.status, "owner_party_id": ticket.owner_party_id},
                    {"updated_at": now}, changed_meanwhile())
    os.makedirs(attachment_directory(), exist_ok=True)
    stored = uuid.uuid4().hex + found.extension
    thumbnail = uuid.uuid4().hex + ".jpg" if found.thumbnail else None
    written = [write(stored, upload.content)] + ([write(thumbnail, found.thumbnail)] if thumbnail else [])
    attachment = Attachment(ticket_id=ticket.id, kind=found.kind, content_type=found.content_type,
                            filename=download_name(upload.filename, found), stored_name=stored,
                            thumbnail_name=thumbnail, size=len(upload.content), party_id=user.party_id,
                            uploaded_by_id=user.id, uploaded_at=now)
    db.session.add(attachment)
    try:
        db.session.flush()
        add_event(ticket, "attachment_added", now, user, party_id=ticket.owner_party_id, note=attachment.filename,
                  data={"attachment_id": attachment.id})
        db.session.commit()
    except Exception:
        db.session.rollback()
        for path in written:
            os.remove(path)
        raise
    return attachment


def write(name: str, content: bytes) -> str:
    path = os.path.join(attachment_directory(), name)
    with open(path, "xb") as handle:
        handle.write(content)
    return path


def stored_path(name: str) -> str:
    return os.path.join(attachment_directory(), os.path.basename(name))


def attachments_of(ticket: Ticket) -> list[Attachment]:
    return db.session.execute(sa.select(Attachment).where(Attachment.ticket_id == ticket.id)
                              .order_by(Attachment.id)).scalars().all()
