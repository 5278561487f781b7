"""What pages and documents show of a certificate: field labels, rows, state.

Certificates are Chinese documents: their type names and field labels are Chinese in
every UI language, as on paper. A field without a label here shows its name.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings

from yiwang.certificates import signedqr
from yiwang.certificates.models import Certificate
from yiwang.certificates.services import MASKED_SUFFIX
from yiwang.core.masking import mask_id_number, redact_text

# The data fields of catalog-data/certificate-types.toml.
FIELD_LABELS: dict[str, str] = {
    "account_number": "账号",
    "account_status": "账户状态",
    "address": "住址",
    "amount": "金额",
    "approval_number": "审批编号",
    "approved_on": "批准日期",
    "approving_authority": "审批机关",
    "area": "面积",
    "balance": "余额",
    "bank_account": "银行账号",
    "birth_date": "出生日期",
    "birth_place": "出生地",
    "birth_weight": "出生体重",
    "business_items": "经营项目",
    "business_premises": "经营场所",
    "business_scope": "经营范围",
    "business_term": "营业期限",
    "card_number": "卡号",
    "cause_of_death": "死亡原因",
    "certificate_number": "证书编号",
    "child_name": "新生儿姓名",
    "co_ownership": "共有情况",
    "contribution_months": "缴费月数",
    "cremation_date": "火化日期",
    "death_date": "死亡日期",
    "death_place": "死亡地点",
    "deceased_name": "死者姓名",
    "deposit_base": "缴存基数",
    "disability_category": "残疾类别",
    "disability_level": "残疾等级",
    "document_number": "文书编号",
    "employer": "工作单位",
    "employment_status": "就业状态",
    "entity_type": "类型",
    "entrepreneurship_records": "创业记录",
    "established_on": "成立日期",
    "ethnicity": "民族",
    "family_members": "家庭成员",
    "father_id_number": "父亲公民身份号码",
    "father_name": "父亲姓名",
    "file_number": "档案编号",
    "first_issued_on": "初次领证日期",
    "former_spouse_id_number": "原配偶公民身份号码",
    "former_spouse_name": "原配偶姓名",
    "funeral_home": "殡仪馆",
    "gender": "性别",
    "gestational_weeks": "出生孕周",
    "guardian_id_number": "监护人公民身份号码",
    "guardian_name": "监护人姓名",
    "head_id_number": "户主公民身份号码",
    "head_name": "户主姓名",
    "head_of_household": "户主姓名",
    "holder_id_number": "持证人公民身份号码",
    "holder_name": "持证人",
    "home_address": "家庭住址",
    "household_address": "户籍地址",
    "household_number": "户号",
    "household_size": "家庭人口",
    "household_type": "户别",
    "id_number": "公民身份号码",
    "insurance_type": "险种",
    "insured_region": "参保地",
    "insured_since": "参保日期",
    "insured_status": "参保状态",
    "issue_place": "签发地点",
    "issued_on": "签发日期",
    "issuing_authority": "签发机关",
    "issuing_hospital": "签发机构",
    "issuing_institution": "签发机构",
    "issuing_region": "发卡地",
    "legal_representative": "法定代表人",
    "licence_number": "证号",
    "location": "坐落",
    "main_business_type": "主体业态",
    "monthly_allowance": "月保障金额",
    "monthly_deposit": "月缴存额",
    "mother_id_number": "母亲公民身份号码",
    "mother_name": "母亲姓名",
    "name": "姓名",
    "name_pinyin": "姓名拼音",
    "nationality": "国籍",
    "obligee": "权利人",
    "obligee_id_number": "权利人证件号码",
    "opened_on": "开户日期",
    "operator_name": "经营者名称",
    "paid_on": "缴款日期",
    "paid_until": "缴至年月",
    "passport_number": "护照号",
    "personal_account_number": "个人账户号",
    "registered_capital": "注册资本",
    "registered_on": "登记日期",
    "registration_authority": "登记机关",
    "registration_date": "登记日期",
    "relationship_to_head": "与户主关系",
    "residence_address": "居住地址",
    "retirement_date": "退休日期",
    "retirement_type": "退休类别",
    "right_nature": "权利性质",
    "right_type": "权利类型",
    "social_security_number": "社会保障号码",
    "spouse_id_number": "配偶公民身份号码",
    "spouse_name": "配偶姓名",
    "tax_authority": "税务机关",
    "tax_item": "品目名称",
    "tax_type": "税种",
    "taxable_period": "税款所属时期",
    "taxpayer_id": "纳税人识别号",
    "taxpayer_name": "纳税人名称",
    "term": "使用期限",
    "unemployment_registered_on": "失业登记日期",
    "unit_number": "不动产单元号",
    "uscc": "统一社会信用代码",
    "use": "用途",
    "vaccination_clinic": "接种单位",
    "vaccination_records": "接种记录",
    "valid_from": "有效期起",
    "valid_until": "有效期至",
    "vehicle_class": "准驾车型",
    "voucher_id": "凭证编号",
}

# Where an organisation's certificate calls a field otherwise (营业执照: 名称, 住所).
ORGANISATION_FIELD_LABELS: dict[str, str] = {"name": "名称", "address": "住所"}

# What the holder's identifier is called on the certificate.
HOLDER_IDENTIFIER_LABELS = {"person": "公民身份号码", "organisation": "统一社会信用代码"}


def field_label(name: str, holder_kind: str = "person") -> str:
    if holder_kind == "organisation" and name in ORGANISATION_FIELD_LABELS:
        return ORGANISATION_FIELD_LABELS[name]
    return FIELD_LABELS.get(name, name)


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    value: str


def data_rows(
    data: Mapping[str, object],
    fields: Sequence[str] = (),
    *,
    masked: bool,
    holder_kind: str = "person",
) -> list[Row]:
    """The certificate's data in its type's field order (unknown fields after), labelled.

    ``masked`` hides ID numbers: every ``*id_number`` field, and any ID or mobile number
    written into another field's text. Labels follow the holder's kind (名称 or 姓名).
    """
    names = [name for name in fields if name in data]
    names += sorted(name for name in data if name not in names)
    rows = []
    for name in names:
        value = str(data[name])
        if masked:
            value = mask_id_number(value) if name.endswith(MASKED_SUFFIX) else redact_text(value)
        rows.append(Row(name=name, label=field_label(name, holder_kind), value=value))
    return rows


def holder_identifier_shown(certificate: Certificate, *, masked: bool) -> str:
    """A person's ID number masked when asked; an organisation's credit code is public."""
    if masked and certificate.holder_kind == "person":
        return mask_id_number(certificate.holder_identifier)
    return certificate.holder_identifier


class State:
    """A certificate's state as its holder and readers see it."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"


# Badge tone of each state (the tones of the portal's site.css).
STATE_TONES = {State.VALID: "ok", State.EXPIRED: "closed", State.REVOKED: "bad"}


def certificate_state(certificate: Certificate, today: datetime.date) -> str:
    if certificate.status == Certificate.Status.REVOKED:
        return State.REVOKED
    if certificate.valid_until is not None and certificate.valid_until < today:
        return State.EXPIRED
    return State.VALID


def qr_expires_at(text: str) -> datetime.datetime:
    """When a code the platform has just signed stops verifying (shown beside it)."""
    sign1 = signedqr.cose_decode(
        signedqr.decompress(
            signedqr.base45_decode(signedqr.unprefix(text, settings.CERTIFICATES_QR_PREFIX))
        )
    )
    return signedqr.cwt_decode(sign1.payload).expires_at
