"""Writes to the household file. Every write is atomic, validated first, scoped by the access gate,
audit-logged and put on the household's timeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from bangfu.common import crypto
from bangfu.common.audit import audit_record, audit_told
from bangfu.common.errors import DomainError, ErrorCode, ErrorCollector
from bangfu.common.ids import ResidentId
from bangfu.common.models import AuditAction
from bangfu.common.phones import plain_phone
from bangfu.common.text import clean_name, clean_reason
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import OrgLevel, OrgUnit

from . import codes, pinyin, workflow
from .economy import PersonFacts, compute_economy, person_facts
from .inputs import BankAccountInput, HouseholdInput, MemberInput
from .models import (
    BankAccount,
    BusinessRole,
    FileNumberSequence,
    Home,
    Household,
    Income,
    Member,
    RigidExpense,
    Vehicle,
)
from .timeline import timeline_add
from .validation import CheckedMember, check_household, normalise_card

TIER_FOR_LEVEL = {
    OrgLevel.NATIONAL: codes.FileTier.NATIONAL,
    OrgLevel.PROVINCE: codes.FileTier.PROVINCE,
    OrgLevel.CITY: codes.FileTier.CITY,
    OrgLevel.COUNTY: codes.FileTier.COUNTY,
    OrgLevel.GRASSROOTS: codes.FileTier.GRASSROOTS,
}
# Member fields copied straight from the input.
_MEMBER_PLAIN = [f.name for f in fields(MemberInput) if f.name not in {"id_number", "sex", "birth_date", "member_id"}]


def name_pinyin(name: str) -> tuple[str, str]:
    """Full pinyin and initials, lower-case, without separators (for search by pinyin)."""
    return pinyin.name_pinyin(name)


def mask_name(name: str) -> str:
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _next_file_number(unit: OrgUnit) -> str:
    prefix = f"{unit.division_code}{timezone.localdate().year}"
    FileNumberSequence.objects.get_or_create(prefix=prefix)
    seq = FileNumberSequence.objects.select_for_update().get(prefix=prefix)
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"{prefix}{seq.last:06d}"


def _unit_for_write(actor: Any, unit_id: int | None) -> OrgUnit:
    unit = OrgUnit.objects.filter(pk=unit_id).first() if unit_id is not None else None
    if unit is None or not access.has_perm(actor, Perm.HOUSEHOLD_VIEW, unit):
        raise ValidationError({"unit_id": _("This union does not exist or is outside your jurisdiction.")})
    access.require(actor, Perm.HOUSEHOLD_EDIT, unit)
    return unit


def _unit_problems(actor: Any, errors: ErrorCollector, unit_id: int | None) -> None:
    """The union asked for, checked with the form's other errors: a union outside the jurisdiction
    was said only once the rest had been put right. One given but not to be changed by the actor
    is refused at once (403), before the rest; none given is ``check_household``'s to say."""
    if unit_id is None:
        return
    try:
        _unit_for_write(actor, unit_id)
    except ValidationError as exc:
        for path, messages in exc.message_dict.items():
            for message in messages:
                errors.add(path, message)


# Other apps' claims on a person about to be put on a file by hand: an application under way, say,
# opens that person's file itself when approved, and a file opened beside it would leave the case
# unable to be approved. Each claim is called with the actor, ``{keyed hash: member index}``, the
# checked members and the check's ``Telling`` (what it tells outside the jurisdiction is logged and
# counted as the open-file check's is), and returns ``{member index: message}``; an app registers
# its own in its ``AppConfig.ready``.
PERSON_CLAIMS: list[Callable[[Any, dict[str, int], list[CheckedMember], Telling], dict[int, str]]] = []
# Other apps' part in a file's change of state, in its transaction: each is called with the actor,
# the household, the state before and the state after (the yearly review closes with the file).
STATE_HOOKS: list[Callable[[Any, Household, str, str], None]] = []


def claims_check(
    actor: Any,
    checked: list[CheckedMember],
    *,
    skip: set[str] | frozenset[str] = frozenset(),
    telling: Telling | None = None,
) -> None:
    """Refuse, naming each, the persons another app holds (``PERSON_CLAIMS``); ``skip``: keyed
    hashes of persons already on this file (they were checked when they were put on it)."""
    hashes = {crypto.keyed_hash(c.rid.value): i for i, c in enumerate(checked)}
    for digest in skip:
        hashes.pop(digest, None)
    if not hashes or not PERSON_CLAIMS:
        return
    telling = telling or Telling(actor)
    errors: dict[str, list[str]] = {}
    for claim in PERSON_CLAIMS:
        for i, message in claim(actor, hashes, checked, telling).items():
            errors.setdefault(f"members.{checked[i].place(i)}.id_number", []).append(message)
    if errors:
        raise ValidationError(errors)


# How many persons a day a user may be told the union of, outside their jurisdiction.
TOLD_ELSEWHERE_PER_DAY = 30


def _told_key(actor: Any) -> str:
    return f"registry:told-elsewhere:{actor.pk}:{timezone.localdate():%Y%m%d}"


def _told_today(actor: Any) -> int:
    from django.core.cache import cache

    return int(cache.get(_told_key(actor)) or 0)


def _count_told(actor: Any) -> None:
    """Counted once the reveal is logged (``audit_told``), so a rolled-back refusal still counts."""
    from django.core.cache import cache

    key = _told_key(actor)
    cache.add(key, 0, timeout=2 * 24 * 3600)
    cache.incr(key)


# The object type of the entry in the asking union's log (``Telling.log``): what one of its users
# was told of a person another union keeps.
TOLD_HERE = "registry.telling"


class Telling:
    """What one check tells a user of the persons another union keeps — on an open file
    (``open_file_check``), in an application under way (intake's claim) — outside the user's
    jurisdiction. Staff are told which union at most ``TOLD_ELSEWHERE_PER_DAY`` times a day, files
    and applications counted together (either tells that the person is in the hardship system);
    past it, that there is one, not where. Every telling, the union named or not, and a phone's
    (which never names it), is a reveal in the keeping union's log (``audit_told``): someone trying
    ID numbers leaves a trail, most of all once past the day's number. A staff user's is also a
    reveal in the log of the union they asked for (``unit``: the file's, the case's, the import's;
    one of the user's own when not given), an entry of its own (``TOLD_HERE``) saying what the user
    was told and no more: one answer, one entry each side, counted once. One ``Telling`` is shared
    by the checks of one write, so that they do not tell more than the number left between them."""

    def __init__(self, actor: Any, unit: OrgUnit | None = None, *, unit_id: int | None = None) -> None:
        self.actor = actor
        # Staff only: a worker's phone keeps its own count of the persons it was told of (intake).
        self.counted = isinstance(actor, AbstractBaseUser)
        self.told: int | None = None  # how often the actor was told today, this check's tellings included
        self._unit = unit
        self._unit_id = unit_id

    def may_name(self) -> bool:
        """Whether the keeping union may still be named to the actor today."""
        if self.told is None:
            self.told = _told_today(self.actor)
        return self.told < TOLD_ELSEWHERE_PER_DAY

    def say(self, *, phone: str, named: str, unnamed: str) -> tuple[str, bool]:
        """Which of the three answers the actor gets, and whether it names the union: ``phone`` to a
        worker's phone (never the union), ``named`` to staff while the day's number lasts,
        ``unnamed`` to staff past it."""
        if not self.counted:
            return phone, False
        if self.may_name():
            return named, True
        return unnamed, False

    def asking(self) -> OrgUnit | None:
        """The union the user asked for: the one given, if it is in the user's jurisdiction, else
        the first of the unions where the user holds a role; None for a worker's phone."""
        if not self.counted:
            return None
        unit = self._unit
        if unit is None and self._unit_id is not None:
            unit = self._unit = OrgUnit.objects.filter(pk=self._unit_id).first()
        own = sorted(access.grants(self.actor), key=lambda g: g.unit_path)
        if unit is not None and any(unit.path.startswith(g.unit_path) for g in own):
            return unit
        return OrgUnit.objects.filter(pk=own[0].unit_id).first() if own else None

    def about(self, person: CheckedMember | None, named: bool) -> dict[str, Any] | None:
        """What the entries say beside the answer of who was asked about (``person``), or None when
        this answer was given already and is not told again (the legacy import's check and its
        commit of one file). Every answer is new here."""
        return {}

    def log(
        self,
        *,
        target_type: str,
        target_id: object,
        unit: OrgUnit,
        id_masked: str,
        told: str,
        named: bool,
        note: str,
        asked_note: str = "",
        person: CheckedMember | None = None,
    ) -> None:
        """One telling: logged in the keeping union's log, with who was told and whether the union
        was named, and (staff) in the asking union's log with ``asked_note`` (what the user was
        told: the keeping union only when it was named); counted once the entries are written (a
        refusal rolled back still counts)."""
        extra = self.about(person, named)
        if extra is None:
            return
        actor = self.actor
        asking = self.asking()
        answer = {"id_number": id_masked, "told": told, "union_named": named, **extra}
        audit_told(
            actor=actor,
            action=AuditAction.REVEAL,
            target_type=target_type,
            target_id=target_id,
            unit_path=unit.path,
            after={**answer, **({"asked_in": asking.code} if asking is not None else {})},
            note=note,
            then=(lambda: _count_told(actor)) if self.counted else None,
        )
        if asking is not None:
            audit_told(
                actor=actor,
                action=AuditAction.REVEAL,
                target_type=TOLD_HERE,
                unit_path=asking.path,
                after={**answer, **({"kept_by": unit.code} if named else {})},
                note=asked_note,
            )
        if self.counted:
            self.told = (_told_today(actor) if self.told is None else self.told) + 1


def open_file_check(
    actor: Any,
    checked: list[CheckedMember],
    household_id: int | None,
    opening: bool,
    telling: Telling | None = None,
) -> None:
    """A person may be on at most one open file: name the other file, masked as the viewer must see it."""
    if not opening:
        return
    hashes = {crypto.keyed_hash(c.rid.value): i for i, c in enumerate(checked)}
    clashes = Member.objects.filter(id_hash__in=hashes, on_open_file=True).select_related("household__unit")
    if household_id is not None:
        clashes = clashes.exclude(household_id=household_id)
    errors: dict[str, list[str]] = {}
    staff = isinstance(actor, AbstractBaseUser)
    telling = telling or Telling(actor)
    for other in clashes:
        i = hashes[other.id_hash]
        keeper = other.household.unit
        visible = staff and access.has_perm(actor, Perm.HOUSEHOLD_VIEW, keeper)
        if visible:
            message = _("This person is already on the open file %(file)s of %(unit)s (as %(name)s).") % {
                "file": other.household.file_number,
                "unit": keeper.name,
                "name": mask_name(other.name),
            }
            errors.setdefault(f"members.{checked[i].place(i)}.id_number", []).append(message)
            continue
        message, named = telling.say(
            # A worker applying from a phone learns no more than that: which union keeps the file,
            # under what name, would tell anyone who knows an ID number about someone's hardship.
            phone=_("This person is already on an open file; ask your union."),
            # Outside the jurisdiction: the union to contact and the file's number masked, not
            # the name on it (anyone with an account could otherwise look people up by ID number).
            named=_(
                "This person is already on an open file of %(unit)s (%(file)s), outside your jurisdiction: "
                "ask that union."
            )
            % {"file": crypto.mask_middle(other.household.file_number, 6, 4), "unit": keeper.name},
            # Past the day's number: that there is a file, not where (someone trying ID numbers
            # would otherwise learn, one after the other, who is in hardship and where).
            unnamed=_(
                "This person is already on an open file outside your jurisdiction. You were told %(n)s times "
                "today which union keeps a person's file or application, the most a day: ask your assistance "
                "centre to find the union."
            )
            % {"n": TOLD_ELSEWHERE_PER_DAY},
        )
        # Told to someone who may not see the file: logged, in the keeping union's log, whether
        # the union was named or not.
        telling.log(
            target_type="household",
            target_id=other.household.pk,
            unit=keeper,
            id_masked=other.id_masked,
            told="open_file_elsewhere",
            named=named,
            note=(
                _("Told a user outside the jurisdiction that this person is on an open file of %(unit)s")
                if named
                else _(
                    "Told a user outside the jurisdiction that this person is on an open file of %(unit)s "
                    "(the union was not named)"
                )
            )
            % {"unit": keeper.name},
            # In the asking union's log: what its user was told, the keeping union only if named.
            asked_note=(
                _("Told that this person is on an open file of %(unit)s, outside the jurisdiction")
                % {"unit": keeper.name}
                if named
                else _("Told that this person is on an open file outside the jurisdiction (the union was not named)")
            ),
            person=checked[i],
        )
        errors.setdefault(f"members.{checked[i].place(i)}.id_number", []).append(message)
    if errors:
        raise ValidationError(errors)


def snapshot(h: Household) -> dict[str, Any]:
    """What the audit log keeps of a file: every field, personal numbers masked only."""
    data: dict[str, Any] = {
        f.attname: getattr(h, f.attname)
        for f in Household._meta.concrete_fields
        if f.attname not in {"created_at", "updated_at"}
    }
    data["members"] = [
        {
            f.attname: getattr(m, f.attname)
            for f in Member._meta.concrete_fields
            if f.attname not in {"id_cipher", "id_hash", "household_id"}
        }
        for m in h.members.all()
    ]
    data["incomes"] = [(i.kind, str(i.amount_yearly)) for i in h.incomes.all()]
    data["rigid_expenses"] = [(e.kind, str(e.amount_yearly)) for e in h.rigid_expenses.all()]
    data["homes"] = [(str(x.floor_area), x.acquired_on) for x in h.homes.all()]
    data["vehicles"] = [v.kind for v in h.vehicles.all()]
    data["business_roles"] = [(b.company, b.role, b.company_active) for b in h.business_roles.all()]
    acc = BankAccount.objects.filter(household=h).first()
    data["bank_account"] = {"bank": acc.bank, "card": acc.card_masked} if acc else None
    return data


def _apply(h: Household, data: HouseholdInput, unit: OrgUnit, checked: list[CheckedMember]) -> None:
    """Write the file and its collections from a validated input (inside a transaction)."""
    h.unit = unit
    h.category = data.category
    h.tier = data.tier or TIER_FOR_LEVEL[OrgLevel(unit.level)]
    h.state = data.state
    h.is_migrant_worker = data.is_migrant_worker
    h.main_cause = int(data.main_cause or 0)  # validation guarantees a cause
    h.secondary_causes = list(data.secondary_causes)
    h.cause_note = clean_reason(data.cause_note)
    h.address = clean_reason(data.address)
    h.housing_type = data.housing_type
    h.housing_area = data.housing_area
    h.medical_insurance = data.medical_insurance
    h.self_reliant = data.self_reliant
    h.accident_costs_yearly = data.accident_costs_yearly
    h.private_school_fees_yearly = data.private_school_fees_yearly
    h.public_school_fees_yearly = data.public_school_fees_yearly
    h.studying_abroad_self_funded = data.studying_abroad_self_funded
    h.filed_on = data.filed_on
    h.filed_by_name = clean_name(data.filed_by_name)
    h.reviewed_by_name = clean_name(data.reviewed_by_name)
    _set_economy(
        h,
        [person_facts(c.data, c.birth_date) for c in checked],
        [(i.kind, i.amount_yearly) for i in data.incomes],
        [e.amount_yearly for e in data.rigid_expenses],
    )
    h.save()

    is_open = h.state in codes.OPEN_STATES
    existing = {m.id_hash: m for m in h.members.all()}
    keep: set[int] = set()
    for pos, c in enumerate(checked):
        digest = crypto.keyed_hash(c.rid.value)
        m = existing.get(digest) or Member(household=h, id_hash=digest)
        m.unit = unit
        if m.pk is None or not m.id_cipher:
            m.id_cipher = crypto.encrypt(c.rid.value)
        m.id_masked = c.rid.masked
        m.position = pos
        m.sex, m.birth_date = c.sex, c.birth_date
        for name in _MEMBER_PLAIN:
            setattr(m, name, getattr(c.data, name))
        m.phone = plain_phone(m.phone)  # as a sign-in has it: the yearly review finds the head by it
        m.name = c.data.name.strip()
        m.name_pinyin, m.name_initials = name_pinyin(m.name)
        m.on_open_file = is_open and not m.deceased
        m.save()
        keep.add(m.pk)
    h.members.exclude(pk__in=keep).delete()

    h.incomes.all().delete()
    Income.objects.bulk_create(
        Income(household=h, kind=i.kind, amount_yearly=i.amount_yearly, note=i.note) for i in data.incomes
    )
    h.rigid_expenses.all().delete()
    RigidExpense.objects.bulk_create(
        RigidExpense(household=h, kind=e.kind, amount_yearly=e.amount_yearly, note=e.note) for e in data.rigid_expenses
    )
    h.homes.all().delete()
    Home.objects.bulk_create(
        # check_household refused a home without its area: it is given here.
        Home(household=h, floor_area=cast(Decimal, x.floor_area), acquired_on=x.acquired_on, note=x.note)
        for x in data.homes
    )
    h.vehicles.all().delete()
    Vehicle.objects.bulk_create(Vehicle(household=h, kind=v.kind, note=v.note) for v in data.vehicles)
    h.business_roles.all().delete()
    BusinessRole.objects.bulk_create(
        BusinessRole(household=h, company=clean_reason(b.company), role=b.role, company_active=b.company_active)
        for b in data.business_roles
    )
    if data.bank_account is None:
        BankAccount.objects.filter(household=h).delete()
    else:
        card = normalise_card(data.bank_account.card_number)
        acc = BankAccount.objects.filter(household=h).first() or BankAccount(household=h)
        acc.bank = clean_reason(data.bank_account.bank)
        acc.branch = clean_reason(data.bank_account.branch)
        acc.holder_name = clean_name(data.bank_account.holder_name)
        digest = crypto.keyed_hash(card)
        if acc.card_hash != digest:
            acc.card_cipher, acc.card_hash, acc.card_masked = crypto.encrypt(card), digest, crypto.mask_middle(card)
        acc.save()


def _save_guarded(actor: Any, data: HouseholdInput, h: Household, unit: OrgUnit, checked: list[CheckedMember]) -> None:
    try:
        with transaction.atomic():
            _apply(h, data, unit, checked)
    except IntegrityError as exc:
        # A concurrent write put one of these people on another open file first: report it as such.
        if "one_open_file" in str(exc) or "id_hash" in str(exc):
            open_file_check(actor, checked, h.pk, opening=True, telling=Telling(actor, unit))
        raise DomainError(ErrorCode.CONFLICT, _("The file was changed at the same time; try again.")) from exc


def _person_problems(
    actor: Any,
    errors: ErrorCollector,
    checked: list[CheckedMember],
    household_id: int | None,
    opening: bool,
    claims: frozenset[str] | None = None,
    unit_id: int | None = None,
    *,
    always: bool = False,
) -> None:
    """Add to the form's errors those of the members already on another open file: a person on
    another file was said only once every other error had been put right, so the errors came in
    rounds. ``claims``: look for other apps' claims on the persons (``claims_check``), skipping
    these keyed hashes; ``None``: the caller holds the persons itself. ``unit_id``: the file's
    union, the one asked for (``Telling``). The open-file check is made here when there are other
    errors, or ``always`` (nothing is to be saved); otherwise the write makes it, in its
    transaction."""
    telling = Telling(actor, unit_id=unit_id)  # the claims and the open-file check tell no more than the day's number
    if opening and claims is not None:
        try:
            claims_check(actor, checked, skip=claims, telling=telling)
        except ValidationError as exc:
            for path, messages in exc.message_dict.items():
                for message in messages:
                    errors.add(path, message)
    if not errors and not always:
        return
    try:
        open_file_check(actor, checked, household_id, opening=opening, telling=telling)
    except ValidationError as exc:
        for path, messages in exc.message_dict.items():
            for message in messages:
                errors.add(path, message)


def _raise_all(
    actor: Any,
    errors: ErrorCollector,
    checked: list[CheckedMember],
    household_id: int | None,
    opening: bool,
    claims: frozenset[str] | None = None,
    unit_id: int | None = None,
) -> None:
    """The form's errors, with the persons' (``_person_problems``), raised together."""
    _person_problems(actor, errors, checked, household_id, opening, claims, unit_id)
    errors.raise_if_any()


def _new_file_check(errors: ErrorCollector, data: HouseholdInput) -> None:
    """A new file starts open and in a current category, whoever makes it: it is exited, removed
    or cancelled afterwards by the steps an edit of the file is held to (the legacy import, which
    brings old files in their old states and categories, does not come here)."""
    if data.state in codes.FileState.values and data.state not in codes.OPEN_STATES:
        errors.add(
            "state",
            _(
                "A new file starts active, as temporary aid or relieved; it is exited, removed or cancelled "
                "afterwards, by the steps for each."
            ),
        )
    if data.category in codes.HardshipCategory.values and data.category not in codes.CURRENT_CATEGORIES:
        errors.add("category", _("A new file takes a current category; the pre-2018 ones are kept for imported files."))


Checks = tuple[HouseholdInput, ErrorCollector, list[CheckedMember], frozenset[str] | None]


def _create_checks(actor: Any, data: HouseholdInput, *, check_claims: bool) -> Checks:
    """What a new file is checked for before the persons are looked up (``household_create``,
    ``household_problems``): the input as it is to be saved, its errors, its members checked and
    the claims to look for (``_person_problems``)."""
    if data.filed_on is None:
        data = replace(data, filed_on=timezone.localdate())
    errors, checked = check_household(data)
    _new_file_check(errors, data)
    _unit_problems(actor, errors, data.unit_id)
    return data, errors, checked, (frozenset() if check_claims else None)


def household_create(*, actor: Any, data: HouseholdInput, check_claims: bool = True) -> Household:
    """A new file. ``check_claims=False``: the caller holds its persons itself (an application
    opening its own file at approval), so other apps' claims on them are not asked. A file given
    no filing date is filed today, whichever way it is made (page, API, approval): the API's
    left it blank, and the export's 建档日期 with it."""
    data, errors, checked, claims = _create_checks(actor, data, check_claims=check_claims)
    _raise_all(actor, errors, checked, None, data.state in codes.OPEN_STATES, claims, data.unit_id)
    unit = _unit_for_write(actor, data.unit_id)
    with transaction.atomic():
        open_file_check(actor, checked, None, opening=data.state in codes.OPEN_STATES, telling=Telling(actor, unit))
        h = Household(file_number=_next_file_number(unit), entered_by=actor if actor.is_authenticated else None)
        _save_guarded(actor, data, h, unit, checked)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target_type="household",
            target_id=h.pk,
            unit_path=unit.path,
            after=snapshot(h),
        )
        timeline_add(
            household=h, actor=actor, kind=codes.TimelineKind.FILE_CREATED, data={"file_number": h.file_number}
        )
    return h


def _fill_kept_ids(h: Household, data: HouseholdInput, *, keep_bank_account: bool = False) -> HouseholdInput:
    """On update a member may be named by ``member_id`` with the ID left blank or masked: the
    stored number is kept, so no client has to reveal (and log) every ID just to edit a file. So
    is the bank card given blank or masked (as a read shows it); and with ``keep_bank_account`` (a
    client that left the account out) the stored account stays as it is. Returns a new input;
    the caller's is left as it was."""
    account = BankAccount.objects.filter(household=h).first()
    if data.bank_account is None and keep_bank_account and account is not None:
        data = replace(
            data,
            bank_account=BankAccountInput(
                bank=account.bank, holder_name=account.holder_name, card_number="", branch=account.branch
            ),
        )
    card = data.bank_account.card_number.strip() if data.bank_account else ""
    if data.bank_account is not None and account is not None and (not card or "*" in card):
        data = replace(data, bank_account=replace(data.bank_account, card_number=crypto.decrypt(account.card_cipher)))
    stored = {m.pk: m for m in h.members.all()}
    bad: dict[str, list[str]] = {}
    members = []
    for i, m in enumerate(data.members):
        if m.member_id is not None and (not m.id_number.strip() or "*" in m.id_number):
            if m.member_id not in stored:
                bad[f"members.{i}.member_id"] = [_("This person is not a member of this file.")]
            else:
                m = replace(m, id_number=crypto.decrypt(stored[m.member_id].id_cipher))
        members.append(m)
    if bad:
        raise ValidationError(bad)
    return replace(data, members=members)


def _update_checks(
    actor: Any, h: Household, data: HouseholdInput, *, keep_bank_account: bool, check_claims: bool
) -> Checks:
    """``_create_checks`` of a change of the file ``h``."""
    data = _fill_kept_ids(h, data, keep_bank_account=keep_bank_account)
    if data.filed_on is None:
        # A change that gives no filing date (a cleared box, ``filed_on: null``, a client that
        # leaves it out) keeps the file's: it blanked the day the file was made.
        data = replace(data, filed_on=h.filed_on)
    errors, checked = check_household(data)
    _unit_problems(actor, errors, data.unit_id)
    _state_problems(errors, h, data.state)
    # Persons already on this file were asked about when they were put on it.
    on_file = frozenset(h.members.values_list("id_hash", flat=True)) if h.state in codes.OPEN_STATES else None
    return data, errors, checked, ((on_file or frozenset()) if check_claims else None)


def _state_problems(errors: ErrorCollector, h: Household, to_state: str) -> None:
    """A change of state the edit may not make, with the form's other errors (it was said only
    once they were put right); a state not in the list is ``check_household``'s to say."""
    from_state = h.state
    if to_state == from_state or to_state not in codes.FileState.values:
        return
    if not workflow.allowed(from_state, to_state):
        # The edit moves a file along the same table as household_state_change: a removed or
        # cancelled file is not reopened, nor an open one closed, by changing a field.
        errors.add(
            "state",
            _("A file cannot go from “%(from)s” to “%(to)s”.")
            % {"from": codes.FileState(from_state).label, "to": _label(codes.FileState, to_state)},
        )
        return
    try:
        _edit_state_check(h.pk, from_state, to_state)
    except ValidationError as exc:
        for message in exc.messages:
            errors.add("state", message)


def household_problems(*, actor: Any, data: HouseholdInput, household_id: int | None = None) -> dict[str, list[str]]:
    """What ``household_create`` (``household_id`` None) or ``household_update`` of that file
    would say of ``data``'s fields, persons on other files included; nothing is written. For a
    form some of whose values could not be read: its own errors hid these until they were put
    right, so they came in rounds. The caller builds ``data`` from the values it could read and
    leaves out what is said of the others. The file's version is not compared (a change made
    meanwhile is said once the form is sent readable); a union seen but not to be changed is
    refused (403) as the write refuses it."""
    if household_id is None:
        data, errors, checked, claims = _create_checks(actor, data, check_claims=True)
        unit_id = data.unit_id
    else:
        h = access.get_for(actor, Household.objects.select_related("unit"), household_id)
        access.require(actor, Perm.HOUSEHOLD_EDIT, h.unit)
        data, errors, checked, claims = _update_checks(actor, h, data, keep_bank_account=False, check_claims=True)
        unit_id = data.unit_id or h.unit_id
    opening = data.state in codes.OPEN_STATES
    _person_problems(actor, errors, checked, household_id, opening, claims, unit_id, always=True)
    return {path: list(said) for path, said in errors.errors.items()}


def household_update(
    *,
    actor: Any,
    household_id: int,
    data: HouseholdInput,
    expected_version: int | None = None,
    keep_bank_account: bool = False,
    check_claims: bool = True,
) -> Household:
    """Replace the file with ``data``. ``keep_bank_account``: ``data`` says nothing of the bank
    account (an API client that left it out), so the stored one stays; otherwise no account in
    ``data`` removes it. ``check_claims=False``: the caller holds the persons itself (a formal
    application making a temporary-aid file its own at approval)."""
    with transaction.atomic():
        h = access.get_for(actor, Household.objects.select_for_update(), household_id)
        access.require(actor, Perm.HOUSEHOLD_EDIT, h.unit)
        data, errors, checked, claims = _update_checks(
            actor, h, data, keep_bank_account=keep_bank_account, check_claims=check_claims
        )
        _raise_all(actor, errors, checked, h.pk, data.state in codes.OPEN_STATES, claims, data.unit_id or h.unit_id)
        if expected_version is not None and expected_version != h.version:
            # Told apart from another person's change: the same user recording a monthly income in
            # another tab also makes a new version of the file (identification reads it).
            last = h.timeline.order_by("-at", "-pk").values_list("actor_id", flat=True).first()
            mine = last is not None and last == getattr(actor, "pk", None)
            raise DomainError(
                ErrorCode.CONFLICT,
                _(
                    "You changed this file elsewhere (another window, or a monthly income record) since you opened "
                    "this form; reload it and make your change again."
                )
                if mine
                else _("Someone else changed this file since you opened it; reload it and make your change again."),
                {"version": h.version},
            )
        unit = _unit_for_write(actor, data.unit_id)
        from_state = h.state
        open_file_check(actor, checked, h.pk, opening=data.state in codes.OPEN_STATES, telling=Telling(actor, unit))
        before = snapshot(h)
        h.version += 1
        _save_guarded(actor, data, h, unit, checked)
        after = snapshot(h)
        changed = sorted(k for k in after if before.get(k) != after[k] and k != "version")
        if h.state != from_state:
            for hook in STATE_HOOKS:
                hook(actor, h, from_state, h.state)
        if h.state != from_state:  # on the timeline as every change of state is (a removal proposal reads it)
            timeline_add(
                household=h,
                actor=actor,
                kind=codes.TimelineKind.STATE_CHANGED,
                data={"from": from_state, "to": h.state},
            )
        if changed:  # a save that changed nothing (Back, then Save again) is no change to log
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                target_type="household",
                target_id=h.pk,
                unit_path=unit.path,
                before={k: before.get(k) for k in changed},
                after={k: after[k] for k in changed},
            )
            timeline_add(household=h, actor=actor, kind=codes.TimelineKind.FILE_UPDATED, data={"fields": changed})
    return h


def _edit_state_check(household_id: int, from_state: str, to_state: str) -> None:
    """What an edit of the file may not do to its state, beyond the transition table: a removal
    and a removed file's return have their own steps, and an exit needs the exit test met and the
    current identification to find the family out of hardship."""
    if to_state in workflow.NOT_BY_EDIT:
        message = _(
            "A file is removed from its removal proposal, once the worker has been told the check's result "
            "(cross-department checks), not by editing it."
        )
    elif from_state in workflow.NOT_BY_EDIT:
        message = _("A removed file comes back when the worker applies again and the application is approved.")
    elif to_state == codes.FileState.EXITED and from_state != codes.FileState.TEMPORARY:
        met = workflow.exit_test_met(household_id) if workflow.exit_test_met else None
        if met is None:
            message = _(
                "The exit test has not been computed: record the monthly income follow-up, then decide the "
                "household again."
            )
        elif not met:
            message = _(
                "The exit test is not met: income per head has not been above the dibao line for the months the "
                "rules ask (see the identification)."
            )
        else:
            # The months above the line are not all: the family is out of hardship too (domain.md §4),
            # which the decision says from the file's incomes, not the monthly records.
            still = workflow.hardship_in_force(household_id) if workflow.hardship_in_force else None
            if still is None:
                return
            message = _(
                "The current identification still finds “%(category)s”: the family is not out of hardship. Update "
                "the file's incomes (the members' monthly incomes, other income) and decide the household again."
            ) % {"category": still}
    else:
        return
    raise ValidationError({"state": message})


def member_id_reveal(*, actor: Any, member_id: int, household_id: int | None = None, reason: str = "") -> str:
    """The full ID number of a member: needs the reveal permission; audit-logged and on the timeline.
    With ``household_id``, a member of another file answers like one that does not exist."""
    members = Member.objects.select_related("household__unit")
    if household_id is not None:
        members = members.filter(household_id=household_id)
    member = access.get_for(actor, members, member_id)
    access.require(actor, Perm.PERSONAL_REVEAL, member.household.unit)
    value = crypto.decrypt(member.id_cipher)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.REVEAL,
            target_type="member.id_number",
            target_id=member.pk,
            unit_path=member.household.unit.path,
            # The file too, so that the household's entries in the audit log include its reveals.
            after={"masked": member.id_masked, "household": member.household_id, "file": member.household.file_number},
            note=reason,
        )
        timeline_add(
            household=member.household,
            actor=actor,
            kind=codes.TimelineKind.ID_REVEALED,
            data={"member": member.name, "masked": member.id_masked},
        )
    return value


def bank_card_reveal(*, actor: Any, household_id: int, reason: str = "") -> str:
    acc = (
        access.scope(actor, BankAccount.objects.select_related("household__unit"))
        .filter(household_id=household_id)
        .first()
    )
    if acc is None:
        raise Http404
    access.require(actor, Perm.PERSONAL_REVEAL, acc.household.unit)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.REVEAL,
            target_type="bank_account.card_number",
            target_id=acc.pk,
            unit_path=acc.household.unit.path,
            after={"masked": acc.card_masked, "household": acc.household_id, "file": acc.household.file_number},
            note=reason,
        )
        timeline_add(
            household=acc.household,
            actor=actor,
            kind=codes.TimelineKind.ID_REVEALED,
            data={"bank_card": acc.card_masked},
        )
    return crypto.decrypt(acc.card_cipher)


def household_state_change(
    *, actor: Any, household_id: int, to_state: str, reason: str, check_claims: bool = True
) -> Household:
    """Move a file along the declared transition table (``workflow.FILE_TRANSITIONS``), with a reason.

    Reopening a file puts its members back on an open file: refused, naming the other file, when one
    of them is on another open file meanwhile, or naming another app's claim on them
    (``claims_check``; ``check_claims=False``: the caller holds them itself)."""
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the change.")})
    with transaction.atomic():
        h = access.get_for(actor, Household.objects.select_for_update().select_related("unit"), household_id)
        access.require(actor, Perm.HOUSEHOLD_EDIT, h.unit)
        from_state = h.state
        if not workflow.allowed(from_state, to_state):
            raise DomainError(
                ErrorCode.INVALID_TRANSITION,
                _("A file cannot go from “%(from)s” to “%(to)s”.")
                % {"from": codes.FileState(from_state).label, "to": _label(codes.FileState, to_state)},
                {"from": from_state, "to": to_state},
            )
        is_open = to_state in codes.OPEN_STATES
        if is_open and from_state not in codes.OPEN_STATES:
            people = [
                CheckedMember(None, ResidentId(crypto.decrypt(m.id_cipher)), m.sex, m.birth_date)  # type: ignore[arg-type]
                for m in h.members.filter(deceased=False)
            ]
            telling = Telling(actor, h.unit)
            open_file_check(actor, people, h.pk, opening=True, telling=telling)
            if check_claims:
                claims_check(actor, people, telling=telling)
        h.state = to_state
        h.version += 1
        h.save(update_fields=["state", "version", "updated_at"])
        h.members.update(on_open_file=is_open)
        for hook in STATE_HOOKS:
            hook(actor, h, from_state, to_state)
        if is_open:
            h.members.filter(deceased=True).update(on_open_file=False)
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="household",
            target_id=h.pk,
            unit_path=h.unit.path,
            before={"state": from_state},
            after={"state": to_state},
            note=reason,
        )
        timeline_add(
            household=h,
            actor=actor,
            kind=codes.TimelineKind.STATE_CHANGED,
            summary=reason,
            data={"from": from_state, "to": to_state},
        )
    return h


def household_category_set(*, actor: Any, household_id: int, category: str, note: str) -> Household:
    """Put ``category`` on the file (an approved override's, or the approval of a temporary file
    made formal), audited and on the timeline with ``note``; the same category again changes nothing.
    The caller has checked that it may (its own step's permission and rules)."""
    h = Household.objects.select_for_update().select_related("unit").get(pk=household_id)
    before = h.category
    if before == category:
        return h
    h.category = category
    h.version += 1
    h.save(update_fields=["category", "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target_type="household",
        target_id=h.pk,
        unit_path=h.unit.path,
        before={"category": before},
        after={"category": category},
        note=note,
    )
    timeline_add(
        household=h,
        actor=actor,
        kind=codes.TimelineKind.FILE_UPDATED,
        summary=note,
        data={"fields": ["category"], "from": before, "to": category},
    )
    return h


def member_mark_deceased(*, actor: Any, member_id: int, source: str) -> Member:
    """Record a member's death (e.g. confirmed from a hukou/death record): the member leaves the
    household's per-head figures and any open file; the economy is recomputed."""
    with transaction.atomic():
        member = access.get_for(actor, Member.objects.select_related("household__unit"), member_id)
        h = Household.objects.select_for_update().get(pk=member.household_id)
        access.require(actor, Perm.HOUSEHOLD_EDIT, member.household.unit)
        if member.relationship == codes.Relationship.HEAD:
            raise DomainError(
                ErrorCode.CONFLICT,
                _("The head of household has died: choose a new head or cancel the file."),
                {"member_id": member.pk},
            )
        if member.deceased:
            return member
        member.deceased, member.on_open_file = True, False
        member.save(update_fields=["deceased", "on_open_file"])
        _recompute_economy(h)
        h.version += 1
        h.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="member",
            target_id=member.pk,
            unit_path=member.household.unit.path,
            before={"deceased": False},
            after={"deceased": True},
            note=source,
        )
        timeline_add(
            household=h,
            actor=actor,
            kind=codes.TimelineKind.MEMBER_DECEASED,
            summary=source,
            data={"member": member.name},
        )
    return member


def _recompute_economy(h: Household) -> None:
    _set_economy(
        h,
        [person_facts(m, m.birth_date) for m in h.members.all()],
        [(i.kind, i.amount_yearly) for i in h.incomes.all()],
        [e.amount_yearly for e in h.rigid_expenses.all()],
    )


def _set_economy(h: Household, people: list[PersonFacts], incomes: list[tuple[str, Any]], expenses: list[Any]) -> None:
    economy = compute_economy(people, incomes, expenses, timezone.localdate())
    for k, v in asdict(economy).items():
        setattr(h, k, v)


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


@dataclass(frozen=True)
class DepartmentFact:
    """A fact a department's record shows and a reviewer has confirmed, in the file's own terms:
    a vehicle (``vehicle_kind``), a business role (``company``, ``role``) or a home
    (``floor_area``, ``acquired_on``). ``note`` holds the record's own values (its plate or
    certificate number, a vehicle's type), no words of a language: the file is read in any."""

    note: str
    vehicle_kind: str = ""
    company: str = ""
    role: str = ""
    floor_area: Decimal | None = None
    acquired_on: date | None = None


def household_facts_confirm(*, actor: Any, household_id: int, facts: list[DepartmentFact], source: str) -> Household:
    """Write confirmed department facts into the file (a new version), so that identification,
    recomputed from the file, sees them. Audit-logged and on the timeline with ``source``."""
    with transaction.atomic():
        h = access.get_for(actor, Household.objects.select_for_update().select_related("unit"), household_id)
        access.require(actor, Perm.HOUSEHOLD_EDIT, h.unit)
        added: list[dict[str, str]] = []
        for fact in facts:
            note = fact.note[:200]
            if fact.vehicle_kind:
                Vehicle.objects.create(household=h, kind=codes.VehicleKind(fact.vehicle_kind), note=note)
                added.append({"vehicle": fact.vehicle_kind, "note": note})
            elif fact.role:
                BusinessRole.objects.create(
                    household=h, company=(fact.company or note)[:100], role=codes.BusinessRoleKind(fact.role)
                )
                added.append({"business_role": fact.role, "company": fact.company[:100]})
            elif fact.floor_area is not None:
                area = max(fact.floor_area, Decimal(0)).quantize(Decimal("0.01"))
                Home.objects.create(household=h, floor_area=area, acquired_on=fact.acquired_on, note=note)
                added.append({"home": str(area), "acquired_on": str(fact.acquired_on or ""), "note": note})
        if not added:
            return h
        h.version += 1
        h.save(update_fields=["version", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="household",
            target_id=h.pk,
            unit_path=h.unit.path,
            after={"added": added},
            note=source,
        )
        timeline_add(
            household=h, actor=actor, kind=codes.TimelineKind.FILE_UPDATED, summary=source, data={"added": added}
        )
    return h
