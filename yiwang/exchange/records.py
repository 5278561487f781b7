"""Department registries beyond the base ones: the records the services need.

Each table is what one department holds (卫健 birth medical records, 公安 household
registration, 民政 marriages, 人社 social insurance, 医保 medical insurance, 公积金 housing
fund). Other modules never read them directly: they ask the exchange
(``exchange.services.exchange_fetch``), which answers through the department's provider.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.masking import mask_id_number


class BirthMedicalRecord(models.Model):
    """出生医学证明 data, as the hospital of birth reported it to the health commission."""

    certificate_number = models.CharField(_("certificate number"), max_length=20, unique=True)
    child_name = models.CharField(_("child's name"), max_length=50, blank=True)
    child_gender = models.CharField(_("child's gender"), max_length=1)
    birth_at = models.DateTimeField(_("time of birth"))
    birth_weight_g = models.PositiveIntegerField(_("birth weight (g)"))
    birth_region_code = models.CharField(_("place of birth"), max_length=12)
    # As printed on the certificate: province, city and county of birth.
    birth_place = models.CharField(_("place of birth (as printed)"), max_length=100, blank=True)
    gestational_weeks = models.PositiveSmallIntegerField(
        _("gestational weeks"), null=True, blank=True
    )
    institution = models.CharField(_("institution of birth"), max_length=100)
    mother_id_number = models.CharField(_("mother's ID number"), max_length=18, db_index=True)
    mother_name = models.CharField(_("mother's name"), max_length=50)
    father_id_number = models.CharField(
        _("father's ID number"), max_length=18, blank=True, db_index=True
    )
    father_name = models.CharField(_("father's name"), max_length=50, blank=True)
    issued_on = models.DateField(_("issued on"))

    class Meta:
        verbose_name = _("birth medical record")
        verbose_name_plural = _("birth medical records")

    def __str__(self) -> str:
        return f"{self.certificate_number} {mask_id_number(self.mother_id_number)}"


class HouseholdMember(models.Model):
    """A person's entry in a household register (户口簿) as public security keeps it."""

    household_number = models.CharField(_("household number"), max_length=20, db_index=True)
    id_number = models.CharField(_("resident ID number"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=50)
    relationship_to_head = models.CharField(_("relationship to the head"), max_length=20)
    head_id_number = models.CharField(_("head of household's ID number"), max_length=18)
    household_type = models.CharField(_("household type"), max_length=20)  # 家庭户 / 集体户
    region_code = models.CharField(_("township"), max_length=12)
    address = models.CharField(_("address"), max_length=200)
    registered_on = models.DateField(_("registered on"))

    class Meta:
        verbose_name = _("household register entry")
        verbose_name_plural = _("household register")

    def __str__(self) -> str:
        return f"{self.household_number} {mask_id_number(self.id_number)}"


class MarriageRecord(models.Model):
    """A marriage registration (结婚登记) as civil affairs keeps it."""

    class Status(models.TextChoices):
        MARRIED = "married", _("Married")
        DIVORCED = "divorced", _("Divorced")
        WIDOWED = "widowed", _("Ended by death")

    certificate_number = models.CharField(_("certificate number"), max_length=30, unique=True)
    party_a_id_number = models.CharField(_("party A's ID number"), max_length=18, db_index=True)
    party_a_name = models.CharField(_("party A's name"), max_length=50)
    party_b_id_number = models.CharField(_("party B's ID number"), max_length=18, db_index=True)
    party_b_name = models.CharField(_("party B's name"), max_length=50)
    registered_on = models.DateField(_("registered on"))
    registration_authority = models.CharField(_("registration authority"), max_length=100)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.MARRIED
    )

    class Meta:
        verbose_name = _("marriage record")
        verbose_name_plural = _("marriage records")

    def __str__(self) -> str:
        return self.certificate_number


class SocialInsuranceRecord(models.Model):
    """A person's basic pension insurance account (养老保险) at human resources."""

    class Status(models.TextChoices):
        CONTRIBUTING = "contributing", _("Contributing")
        SUSPENDED = "suspended", _("Suspended")
        RETIRED = "retired", _("Receiving a pension")
        TERMINATED = "terminated", _("Terminated")

    id_number = models.CharField(_("resident ID number"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=50)
    social_security_number = models.CharField(_("social security number"), max_length=20)
    insurance_type = models.CharField(_("insurance type"), max_length=30)  # 企业职工基本养老保险
    employer_uscc = models.CharField(_("employer's credit code"), max_length=18, blank=True)
    employer_name = models.CharField(_("employer"), max_length=200, blank=True)
    first_contribution_on = models.DateField(_("first contribution"))
    contribution_months = models.PositiveIntegerField(_("months contributed"))
    monthly_base = models.DecimalField(
        _("contribution base (yuan)"), max_digits=10, decimal_places=2
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.CONTRIBUTING
    )
    card_number = models.CharField(_("social security card number"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("social insurance record")
        verbose_name_plural = _("social insurance records")

    def __str__(self) -> str:
        return f"{mask_id_number(self.id_number)} {self.insurance_type}"


class MedicalInsuranceRecord(models.Model):
    """A person's basic medical insurance enrolment (医保参保) at medical security."""

    class Scheme(models.TextChoices):
        EMPLOYEE = "employee", _("Employee basic medical insurance")
        RESIDENT = "resident", _("Resident basic medical insurance")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Insured")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")

    id_number = models.CharField(_("resident ID number"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=50)
    scheme = models.CharField(_("scheme"), max_length=20, choices=Scheme.choices)
    insured_region_code = models.CharField(_("insured in"), max_length=12)
    enrolled_on = models.DateField(_("enrolled on"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    personal_account_balance = models.DecimalField(
        _("personal account balance (yuan)"), max_digits=10, decimal_places=2
    )
    critical_illness_covered = models.BooleanField(_("critical-illness insurance"), default=True)

    class Meta:
        verbose_name = _("medical insurance record")
        verbose_name_plural = _("medical insurance records")

    def __str__(self) -> str:
        return f"{mask_id_number(self.id_number)} {self.scheme}"


class HousingFundAccount(models.Model):
    """A person's housing provident fund account (住房公积金)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Paying in")
        SEALED = "sealed", _("Sealed")
        CLOSED = "closed", _("Closed")

    id_number = models.CharField(_("resident ID number"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=50)
    account_number = models.CharField(_("account number"), max_length=20, unique=True)
    employer_name = models.CharField(_("employer"), max_length=200, blank=True)
    opened_on = models.DateField(_("opened on"))
    monthly_deposit = models.DecimalField(
        _("monthly deposit (yuan)"), max_digits=10, decimal_places=2
    )
    balance = models.DecimalField(_("balance (yuan)"), max_digits=12, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )

    class Meta:
        verbose_name = _("housing fund account")
        verbose_name_plural = _("housing fund accounts")

    def __str__(self) -> str:
        return f"{self.account_number} {mask_id_number(self.id_number)}"


class TransportPassengerRecord(models.Model):
    """A passenger of a train or flight, as the carrier reports real-name tickets
    (实名制购票) to the transport authority: who travelled on which trip, on which day."""

    class Mode(models.TextChoices):
        TRAIN = "train", _("Train")
        FLIGHT = "flight", _("Flight")
        COACH = "coach", _("Long-distance coach")

    mode = models.CharField(_("mode"), max_length=16, choices=Mode.choices)
    trip_number = models.CharField(_("train or flight number"), max_length=10)
    travel_date = models.DateField(_("date of travel"))
    carrier = models.CharField(_("carrier"), max_length=50)
    id_number = models.CharField(_("resident ID number"), max_length=18)
    name = models.CharField(_("name"), max_length=50)
    departure = models.CharField(_("from"), max_length=50)
    arrival = models.CharField(_("to"), max_length=50)
    departs_at = models.DateTimeField(_("departs at"))
    arrives_at = models.DateTimeField(_("arrives at"))
    # Carriage and seat ("05车12F") or seat ("32A").
    seat = models.CharField(_("seat"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("passenger record")
        verbose_name_plural = _("passenger records")
        indexes = [
            models.Index(fields=["trip_number", "travel_date"], name="transport_trip_day"),
            models.Index(fields=["id_number", "travel_date"], name="transport_person_day"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["trip_number", "travel_date", "id_number"],
                name="transport_one_ticket_per_trip",
            )
        ]

    def __str__(self) -> str:
        return f"{self.trip_number} {self.travel_date} {mask_id_number(self.id_number)}"
