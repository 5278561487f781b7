from __future__ import annotations

import factory
from django.utils import timezone

from yiwang.core.models import Region
from yiwang.exchange.tests.factories import PopulationRecordFactory
from yiwang.identity.models import AssuranceLevel, Department, StaffRole, User

PASSWORD = "Correct-Horse-42"


class UserFactory(factory.django.DjangoModelFactory):
    """An L1 account: registered with a mobile number, not verified."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    phone = factory.Sequence(lambda n: f"1390000{n:04d}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


class VerifiedUserFactory(UserFactory):
    """An L2 account whose name and ID number are in the population registry."""

    assurance_level = AssuranceLevel.L2
    verified_at = factory.LazyFunction(timezone.now)

    class Params:
        record = factory.SubFactory(PopulationRecordFactory)

    id_number = factory.SelfAttribute("record.id_number")
    name = factory.SelfAttribute("record.name")


def region(code: str = "330106") -> Region:
    found = Region.objects.filter(code=code).first()
    if found is not None:
        return found
    return Region.objects.create(code=code, name=code, level=Region.Level.COUNTY, full_name=code)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    code = factory.Sequence(lambda n: f"330106-T{n:02d}")
    name = factory.Sequence(lambda n: f"杭州市西湖区测试局{n}")
    kind = Department.Kind.PUBLIC_SECURITY
    region = factory.LazyFunction(region)


class StaffRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffRole

    user = factory.SubFactory(VerifiedUserFactory)
    department = factory.SubFactory(DepartmentFactory)
    role = StaffRole.Role.CLERK
