"""Code lists of the hardship file (domain.md §2). Values are stable English slugs; the labels are
English source strings translated to Chinese in the zh_Hans catalogue (the Chinese term is noted
beside each)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class FileState(models.TextChoices):
    ACTIVE = "active", _("Active")  # 在档
    TEMPORARY = "temporary", _("Temporary aid")  # 临时救助
    EXITED = "exited", _("Exited hardship")  # 已脱困
    RELIEVED = "relieved", _("Relieved")  # 解困
    CANCELLED = "cancelled", _("Cancelled")  # 注销
    REMOVED = "removed", _("Removed")  # 退档


# A person may be on at most one file in these states.
OPEN_STATES = frozenset({FileState.ACTIVE, FileState.TEMPORARY, FileState.RELIEVED})


class HardshipCategory(models.TextChoices):
    DEEP = "deep", _("Deep hardship")  # 深度困难
    RELATIVE = "relative", _("Relative hardship")  # 相对困难
    ACCIDENT = "accident", _("Hardship by accident")  # 意外致困
    LEGACY_DIBAO = "legacy_dibao", _("Dibao household (pre-2018)")  # 低保户
    LEGACY_DIBAO_EDGE = "legacy_dibao_edge", _("Near-dibao household (pre-2018)")  # 低保边缘户
    LEGACY_ACCIDENT = "legacy_accident", _("Accident household (pre-2018)")  # 意外致困户


# The categories a file is opened in by hand or by an application (the pre-2018 ones are kept for
# imported files only).
CURRENT_CATEGORIES = frozenset({HardshipCategory.DEEP, HardshipCategory.RELATIVE, HardshipCategory.ACCIDENT})


class FileTier(models.TextChoices):
    NATIONAL = "national", _("National")  # 全国级
    PROVINCE = "province", _("Provincial")  # 省级
    CITY = "city", _("City")  # 地市级
    COUNTY = "county", _("County")  # 区县级
    GRASSROOTS = "grassroots", _("Grassroots")  # 基层


class Cause(models.IntegerChoices):
    NO_WORK_CAPACITY = 1, _("No capacity to work")  # 无劳动能力
    ABLE_NOT_EMPLOYED = 2, _("Able to work but not employed")  # 有劳动能力而未就业
    LAID_OFF = 3, _("Laid off or unemployed")  # 下岗失业
    NO_SOCIAL_INSURANCE = 4, _("No social insurance")  # 未参加社会保险
    INSURANCE_NOT_DELIVERED = 5, _("Insurance benefits not delivered")  # 社会保险待遇落实不到位
    MAJOR_ILLNESS = 6, _("Major illness")  # 患重特大疾病
    NATURAL_DISASTER = 7, _("Natural disaster")  # 遭受自然灾害
    ACCIDENT = 8, _("Accident")  # 遭受意外事故
    CHILDREN_SCHOOLING = 9, _("Children's schooling")  # 子女上学
    OTHER = 10, _("Other")  # 其他


class Relationship(models.TextChoices):
    HEAD = "head", _("Head of household")  # 户主
    SPOUSE = "spouse", _("Spouse")  # 配偶
    SON = "son", _("Son")  # 子
    DAUGHTER = "daughter", _("Daughter")  # 女
    FATHER = "father", _("Father")  # 父亲
    MOTHER = "mother", _("Mother")  # 母亲
    FATHER_IN_LAW = "father_in_law", _("Father-in-law")  # 公公/岳父
    MOTHER_IN_LAW = "mother_in_law", _("Mother-in-law")  # 婆婆/岳母
    GRANDPARENT = "grandparent", _("Grandparent")  # 祖父母/外祖父母
    GRANDCHILD = "grandchild", _("Grandchild")  # 孙子女/外孙子女
    SIBLING = "sibling", _("Brother or sister")  # 兄弟姐妹
    CHILD_IN_LAW = "child_in_law", _("Son- or daughter-in-law")  # 儿媳/女婿
    OTHER = "other", _("Other relative")  # 其他


class Sex(models.TextChoices):
    MALE = "M", _("Male")  # 男
    FEMALE = "F", _("Female")  # 女


class Ethnicity(models.TextChoices):
    """GB/T 3304 codes."""

    HAN = "01", _("Han")  # 汉族
    MONGOL = "02", _("Mongol")  # 蒙古族
    HUI = "03", _("Hui")  # 回族
    TIBETAN = "04", _("Tibetan")  # 藏族
    UYGHUR = "05", _("Uyghur")  # 维吾尔族
    MIAO = "06", _("Miao")  # 苗族
    YI = "07", _("Yi")  # 彝族
    ZHUANG = "08", _("Zhuang")  # 壮族
    BUYEI = "09", _("Buyei")  # 布依族
    KOREAN = "10", _("Korean")  # 朝鲜族
    MANCHU = "11", _("Manchu")  # 满族
    DONG = "12", _("Dong")  # 侗族
    YAO = "13", _("Yao")  # 瑶族
    BAI = "14", _("Bai")  # 白族
    TUJIA = "15", _("Tujia")  # 土家族
    HANI = "16", _("Hani")  # 哈尼族
    KAZAKH = "17", _("Kazakh")  # 哈萨克族
    DAI = "18", _("Dai")  # 傣族
    LI = "19", _("Li")  # 黎族
    LISU = "20", _("Lisu")  # 傈僳族
    VA = "21", _("Va")  # 佤族
    SHE = "22", _("She")  # 畲族
    GAOSHAN = "23", _("Gaoshan")  # 高山族
    LAHU = "24", _("Lahu")  # 拉祜族
    SHUI = "25", _("Shui")  # 水族
    DONGXIANG = "26", _("Dongxiang")  # 东乡族
    NAXI = "27", _("Naxi")  # 纳西族
    JINGPO = "28", _("Jingpo")  # 景颇族
    KYRGYZ = "29", _("Kyrgyz")  # 柯尔克孜族
    TU = "30", _("Tu")  # 土族
    DAUR = "31", _("Daur")  # 达斡尔族
    MULAO = "32", _("Mulao")  # 仫佬族
    QIANG = "33", _("Qiang")  # 羌族
    BLANG = "34", _("Blang")  # 布朗族
    SALAR = "35", _("Salar")  # 撒拉族
    MAONAN = "36", _("Maonan")  # 毛南族
    GELAO = "37", _("Gelao")  # 仡佬族
    XIBE = "38", _("Xibe")  # 锡伯族
    ACHANG = "39", _("Achang")  # 阿昌族
    PUMI = "40", _("Pumi")  # 普米族
    TAJIK = "41", _("Tajik")  # 塔吉克族
    NU = "42", _("Nu")  # 怒族
    UZBEK = "43", _("Uzbek")  # 乌孜别克族
    RUSSIAN = "44", _("Russian")  # 俄罗斯族
    EWENKI = "45", _("Ewenki")  # 鄂温克族
    DEANG = "46", _("De'ang")  # 德昂族
    BONAN = "47", _("Bonan")  # 保安族
    YUGUR = "48", _("Yugur")  # 裕固族
    GIN = "49", _("Gin")  # 京族
    TATAR = "50", _("Tatar")  # 塔塔尔族
    DERUNG = "51", _("Derung")  # 独龙族
    OROQEN = "52", _("Oroqen")  # 鄂伦春族
    HEZHEN = "53", _("Hezhen")  # 赫哲族
    MONBA = "54", _("Monba")  # 门巴族
    LHOBA = "55", _("Lhoba")  # 珞巴族
    JINO = "56", _("Jino")  # 基诺族
    OTHER = "97", _("Other ethnicity")  # 其他未识别民族
    FOREIGN_ORIGIN = "98", _("Naturalised citizen")  # 外国血统中国籍人士


class Health(models.TextChoices):
    GOOD = "good", _("Good")  # 良好
    MALIGNANT_TUMOUR = "malignant_tumour", _("Malignant tumour")  # 恶性肿瘤
    CARDIOVASCULAR = "cardiovascular", _("Cardiovascular disease")  # 心血管病
    CEREBROVASCULAR = "cerebrovascular", _("Cerebrovascular disease")  # 脑血管病
    END_STAGE_RENAL = "end_stage_renal", _("End-stage renal disease")  # 终末期肾病
    MENTAL_ILLNESS = "mental_illness", _("Mental illness")  # 精神病
    LIVER_DISEASE = "liver_disease", _("Liver disease")  # 肝病
    BLOOD_DISEASE = "blood_disease", _("Blood disease")  # 血液病
    DIABETES = "diabetes", _("Diabetes")  # 糖尿病
    SPINAL = "spinal", _("Lumbar or cervical spine disease")  # 腰颈椎病
    HYPERTENSION = "hypertension", _("Hypertension")  # 高血压病
    LUNG_DISEASE = "lung_disease", _("Lung disease")  # 肺病
    DEEP_COMA = "deep_coma", _("Deep coma")  # 深度昏迷
    PERMANENT_PARALYSIS = "permanent_paralysis", _("Permanent paralysis")  # 永久瘫痪
    SEVERE_ALZHEIMERS = "severe_alzheimers", _("Severe Alzheimer's disease")  # 严重阿尔茨海默病
    SEVERE_PARKINSONS = "severe_parkinsons", _("Severe Parkinson's disease")  # 严重帕金森病
    GENERAL_ILLNESS = "general_illness", _("Other illness")  # 一般疾病
    DISABLED = "disabled", _("Disabled")  # 残疾


# Health states that count as a major/serious illness for identification.
SERIOUS_HEALTH = frozenset(set(Health) - {Health.GOOD, Health.GENERAL_ILLNESS, Health.DISABLED})


class DisabilityType(models.TextChoices):
    VISUAL = "visual", _("Visual")  # 视力
    HEARING = "hearing", _("Hearing")  # 听力
    SPEECH = "speech", _("Speech")  # 言语
    INTELLECTUAL = "intellectual", _("Intellectual")  # 智力
    PHYSICAL = "physical", _("Physical")  # 肢体
    MENTAL = "mental", _("Mental")  # 精神
    MULTIPLE = "multiple", _("Multiple")  # 多重


class DisabilityGrade(models.IntegerChoices):
    GRADE_1 = 1, _("Grade 1 (most severe)")  # 一级
    GRADE_2 = 2, _("Grade 2")  # 二级
    GRADE_3 = 3, _("Grade 3")  # 三级
    GRADE_4 = 4, _("Grade 4")  # 四级


class WorkStatus(models.TextChoices):
    EMPLOYED = "employed", _("In work")  # 在岗
    LAID_OFF = "laid_off", _("Laid off")  # 下(待)岗
    UNEMPLOYED = "unemployed", _("Unemployed")  # 失(无)业
    RETIRED = "retired", _("Retired")  # 退休
    SICK_LEAVE = "sick_leave", _("On sick leave")  # 病休
    EARLY_RETIRED = "early_retired", _("Internally retired")  # 内退
    MIGRANT_WORKER = "migrant_worker", _("Migrant worker")  # 农民工


class Identity(models.TextChoices):
    WORKING = "working", _("Working")  # 在职
    UNEMPLOYED = "unemployed", _("Without a job")  # 无业
    STUDENT = "student", _("Student")  # 在校学生
    PRESCHOOL = "preschool", _("Pre-school child")  # 学龄前
    RETIRED = "retired", _("Retired")  # 退休
    UNABLE = "unable", _("Unable to work")  # 丧失劳动能力
    OTHER = "other", _("Other")  # 其他


# The identities a work status leaves no doubt about; the others (student, unable to work, pre-school,
# other) are not a matter of work and stay as they are.
EMPLOYMENT_IDENTITIES = frozenset({Identity.WORKING, Identity.UNEMPLOYED, ""})
IDENTITY_FOR_WORK_STATUS = {
    WorkStatus.EMPLOYED: Identity.WORKING,
    WorkStatus.MIGRANT_WORKER: Identity.WORKING,
    WorkStatus.UNEMPLOYED: Identity.UNEMPLOYED,
    WorkStatus.RETIRED: Identity.RETIRED,
}


def identity_following(work_status: str, identity: str) -> str:
    """The identity after a change of work status (a job lost, found, or a retirement), so that the
    two do not say opposite things: "working" and "unemployed" follow the work status, and a person
    retiring from either becomes retired; any other identity is kept."""
    fitting = IDENTITY_FOR_WORK_STATUS.get(work_status)  # type: ignore[call-overload]
    if fitting is None or identity not in EMPLOYMENT_IDENTITIES:
        return identity
    return str(fitting)


class HousingType(models.TextChoices):
    UNIT_PUBLIC_RENTAL = "unit_public_rental", _("Rents employer's public housing")  # 承租单位公房
    LOW_RENT = "low_rent", _("Government low-rent housing")  # 政府廉租房
    COMMERCIAL = "commercial", _("Commercial or self-bought flat")  # 商品房/自购房
    AFFORDABLE = "affordable", _("Affordable housing")  # 经济适用房
    PRICE_CAPPED = "price_capped", _("Price-capped housing")  # 两限房
    SELF_BUILT = "self_built", _("Self-built house")  # 自建房
    RENTED = "rented", _("Rented")  # 租房
    NONE = "none", _("No home")  # 无房
    OTHER = "other", _("Other")  # 其他


class Marital(models.TextChoices):
    MARRIED = "married", _("Married")  # 已婚
    SINGLE = "single", _("Never married")  # 未婚
    DIVORCED = "divorced", _("Divorced")  # 离异
    WIDOWED = "widowed", _("Widowed")  # 丧偶


class Hukou(models.TextChoices):
    NON_AGRICULTURAL = "non_agricultural", _("Non-agricultural")  # 非农业
    AGRICULTURAL = "agricultural", _("Agricultural")  # 农业
    CONVERTED = "converted", _("Agricultural converted to urban")  # 农转居


class Political(models.TextChoices):
    CPC_MEMBER = "cpc", _("CPC member")  # 中共党员
    CYL_MEMBER = "cyl", _("Communist Youth League member")  # 共青团员
    MASSES = "masses", _("No party affiliation")  # 群众
    DEMOCRATIC_PARTY = "democratic_party", _("Democratic party member")  # 民主党派
    OTHER = "other", _("Other")  # 其他


class ModelWorkerLevel(models.TextChoices):
    NONE = "none", _("None")  # 无
    NATIONAL = "national", _("National model worker")  # 全国劳模
    PROVINCIAL = "provincial", _("Provincial model worker")  # 省部级劳模
    CITY = "city", _("City model worker")  # 地市级劳模


class MedicalInsurance(models.TextChoices):
    EMPLOYEE = "employee", _("Employee medical insurance")  # 职工医保
    RESIDENT = "resident", _("Resident medical insurance")  # 城乡居民医保
    NONE = "none", _("Not insured")  # 未参保
    OTHER = "other", _("Other")  # 其他


class SchoolLevel(models.TextChoices):
    PRESCHOOL = "preschool", _("Pre-school")  # 学前
    PRIMARY = "primary", _("Primary school")  # 小学
    JUNIOR = "junior", _("Junior secondary")  # 初中
    SENIOR = "senior", _("Senior secondary")  # 高中
    VOCATIONAL = "vocational", _("Secondary vocational")  # 中职
    COLLEGE = "college", _("Higher vocational college")  # 高职/专科
    UNDERGRADUATE = "undergraduate", _("Undergraduate")  # 本科
    POSTGRADUATE = "postgraduate", _("Postgraduate")  # 研究生


class EmployerType(models.TextChoices):
    STATE_OWNED = "state_owned", _("State-owned")  # 国有
    COLLECTIVE = "collective", _("Collective")  # 集体
    PRIVATE = "private", _("Private")  # 私营
    FOREIGN = "foreign", _("Foreign or Hong Kong/Macao/Taiwan funded")  # 外资/港澳台
    PUBLIC_INSTITUTION = "public_institution", _("Public institution")  # 事业单位
    GOVERNMENT = "government", _("Government body")  # 机关
    INDIVIDUAL = "individual", _("Self-employed")  # 个体
    OTHER = "other", _("Other")  # 其他


class EnterpriseState(models.TextChoices):
    NORMAL = "normal", _("Operating normally")  # 正常经营
    LOSS_MAKING = "loss_making", _("Making losses")  # 亏损
    SUSPENDED = "suspended", _("Production suspended")  # 停产半停产
    RESTRUCTURED = "restructured", _("Restructured")  # 改制
    CLOSED = "closed", _("Closed or bankrupt")  # 关闭破产


class IncomeKind(models.TextChoices):
    WAGES = "wages", _("Wages")  # 工资性收入
    BUSINESS = "business", _("Business income")  # 经营性收入
    PENSION = "pension", _("Pension")  # 养老金
    UNEMPLOYMENT_BENEFIT = "unemployment_benefit", _("Unemployment benefit")  # 失业金
    SUPPORT_RECEIVED = "support_received", _("Support payments received")  # 赡养/抚养/扶养费
    COMPENSATION = "compensation", _("Compensation")  # 赔偿金
    PROPERTY = "property", _("Interest, dividends and rent")  # 财产性收入
    GIFTS = "gifts", _("Gifts received")  # 赠与
    UNION_AID = "union_aid", _("Union aid already paid this year")  # 已获工会帮扶
    BASIC_RESIDENT_PENSION = "basic_resident_pension", _("Basic residents' pension (not counted)")  # 城乡居民基础养老金
    FESTIVAL_GIFT = "festival_gift", _("Small festival gifts (not counted)")  # 节日慰问品
    OTHER = "other", _("Other income")  # 其他


# Income kinds that do not count toward household income (domain.md §3).
NOT_COUNTED_INCOME = frozenset({IncomeKind.BASIC_RESIDENT_PENSION, IncomeKind.FESTIVAL_GIFT})


class RigidExpenseKind(models.TextChoices):
    MEDICAL = "medical", _("Medical costs paid out of pocket")  # 自付医疗费
    SCHOOLING = "schooling", _("Tuition and schooling")  # 教育支出
    CARE = "care", _("Long-term care")  # 长期护理
    JOB_COSTS = "job_costs", _("Necessary job costs")  # 必要就业成本


class VehicleKind(models.TextChoices):
    CAR = "car", _("Private car")  # 私家车
    LIVELIHOOD = "livelihood", _("Livelihood vehicle")  # 生计用车
    DISABILITY = "disability", _("Disability vehicle")  # 残疾人用车
    FARM_MACHINERY = "farm_machinery", _("Large farm machinery")  # 大型农机具
    VESSEL = "vessel", _("Commercial vessel")  # 营运船舶


class BusinessRoleKind(models.TextChoices):
    LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")  # 法定代表人
    SENIOR_MANAGER = "senior_manager", _("Senior manager")  # 高管
    CONTROLLING_SHAREHOLDER = "controlling_shareholder", _("Controlling shareholder")  # 控股股东
    EMPLOYER = "employer", _("Employs others")  # 雇佣他人


class TimelineKind(models.TextChoices):
    FILE_CREATED = "file_created", _("File opened")  # 建档
    FILE_UPDATED = "file_updated", _("File changed")  # 档案变更
    STATE_CHANGED = "state_changed", _("State changed")  # 状态变更
    ID_REVEALED = "id_revealed", _("Personal number revealed")  # 查看完整号码 (an ID or a bank card number)
    MEMBER_DECEASED = "member_deceased", _("Member deceased")  # 成员死亡
    INCOME_RECORDED = "income_recorded", _("Monthly income recorded")  # 收入跟踪
    NOTE = "note", _("Note")  # 备注
