"""Word lists and weights for synthetic households: plausible, not real people.

Weights are rough shares from public statistics (Yunnan's 2020 census for ethnic composition,
common-surname rankings) and the kinds of files the domain describes; they only need to look real.
"""

from __future__ import annotations


def _words(text: str) -> list[str]:
    return text.split()


# fmt: off

# -- people ---------------------------------------------------------------------------------------

SURNAMES: list[tuple[str, int]] = [
    ("王", 70), ("李", 80), ("张", 65), ("刘", 45), ("陈", 40), ("杨", 60), ("赵", 30), ("黄", 22),
    ("周", 20), ("吴", 18), ("徐", 12), ("孙", 12), ("胡", 12), ("朱", 11), ("高", 10), ("林", 9),
    ("何", 14), ("郭", 8), ("马", 16), ("罗", 20), ("梁", 7), ("宋", 6), ("郑", 6), ("谢", 6),
    ("韩", 5), ("唐", 6), ("冯", 5), ("于", 4), ("董", 5), ("萧", 2), ("程", 4), ("曹", 4),
    ("袁", 4), ("邓", 5), ("许", 4), ("傅", 3), ("沈", 3), ("曾", 3), ("彭", 4), ("吕", 3),
    ("苏", 4), ("卢", 3), ("蒋", 3), ("蔡", 3), ("贾", 2), ("丁", 3), ("魏", 3), ("薛", 2),
    ("叶", 3), ("余", 5), ("潘", 3), ("杜", 3), ("戴", 2), ("夏", 2), ("钟", 3), ("汪", 2),
    ("田", 3), ("任", 2), ("姜", 2), ("范", 3), ("方", 2), ("石", 4), ("姚", 2), ("谭", 2),
    ("廖", 2), ("邹", 2), ("熊", 3), ("金", 2), ("陆", 2), ("孔", 1), ("白", 4), ("崔", 1),
    ("康", 1), ("毛", 2), ("秦", 1), ("江", 1), ("史", 1), ("顾", 1), ("侯", 1), ("邵", 1),
    ("孟", 1), ("龙", 3), ("段", 5), ("钱", 1), ("汤", 1), ("尹", 3), ("易", 1), ("常", 1),
    ("武", 1), ("普", 3), ("者", 1), ("施", 2), ("字", 1), ("鲁", 1), ("陶", 2), ("和", 2),
]
# Surnames common in some peoples of Yunnan (chosen for half of their households).
ETHNIC_SURNAMES: dict[str, list[str]] = {
    "07": ["李", "罗", "普", "者", "杨", "毕", "鲁", "起"],  # Yi
    "14": ["杨", "段", "赵", "李", "张", "字", "尹"],  # Bai
    "16": ["李", "白", "马", "高", "陈", "普"],  # Hani
    "20": ["余", "和", "李", "胡", "麻"],  # Lisu
    "27": ["和", "木", "杨", "李"],  # Naxi
    "04": ["扎西", "次仁", "格桑"],  # Tibetan: names without a surname, see TIBETAN_GIVEN
    "03": ["马", "纳", "沙", "丁", "白", "哈"],  # Hui
}

MALE_GIVEN = _words(
    "建国 建华 建军 国强 国华 志强 志明 志刚 永明 永刚 永华 德明 德华 正华 文华 文明 金华 春华 新民 卫东 卫国 "
    "红军 海波 海军 海涛 明亮 光明 家明 立新 成林 云龙 云华 云飞 学文 学军 继红 俊 伟 强 军 磊 勇 杰 涛 明 超 刚 "
    "平 辉 华 斌 鹏 波 林 亮 成 东 兵 涌 峰 江 浩 宇 军华 文斌 德云 绍华 家富 光荣 仕明 树林 正兴 开云 发明 "
    "有才 顺林 兴华 玉林 宗华 朝阳 庆华 绍明 天明"
)
FEMALE_GIVEN = _words(
    "秀英 桂英 秀兰 玉兰 桂兰 秀珍 凤英 玉梅 丽华 丽萍 丽芳 红梅 春梅 美华 美玲 艳 芳 丽 敏 静 燕 娟 霞 玲 丹 "
    "萍 红 琴 兰 梅 云 莉 英 慧 琼 艳萍 艳红 晓燕 海燕 会芳 金花 玉珍 粉 春花 秋菊 兰芬 绍芬 永芬 丽琼 琼芬 "
    "翠华 素芬 桂芳 丽仙 玉仙 美仙 润芬 文秀 小红"
)
# Given names of children born from the mid-1990s on.
CHILD_MALE_GIVEN = _words(
    "浩然 宇轩 子豪 俊杰 浩宇 梓豪 子轩 一鸣 家豪 博文 思远 文博 嘉豪 晨阳 志豪 皓轩 明轩 天佑 子涵 宇航 "
    "鑫 凯 睿 哲 昊 宸 航 毅 帅 晨"
)
CHILD_FEMALE_GIVEN = _words(
    "欣怡 雨萱 梓涵 诗涵 子涵 梓萱 一诺 佳怡 思琪 雨涵 欣妍 梦瑶 语嫣 可欣 婷婷 静怡 雨欣 佳琪 紫涵 钰 "
    "悦 琳 婷 颖 雪 佳 倩 瑶 璐 茜"
)
# Dai names: 岩 for men, 玉 for women, then a word.
DAI_MALE_GIVEN = _words("岩温 岩罕 岩香 岩应 岩保 岩叫 岩庄 岩光 岩甩 岩砍")
DAI_FEMALE_GIVEN = _words("玉香 玉罕 玉应 玉叫 玉坎 玉光 玉楠 玉腊 玉儿 玉丙")
TIBETAN_GIVEN = _words("扎西 次仁 格桑 达瓦 尼玛 多吉 卓玛 拉姆 央金 平措 德吉 白玛")
# Uyghur names are the person's name and the father's, joined with a middle dot (·).
UYGHUR_MALE = _words("艾合买提 买买提 阿不都 吐尔逊 艾力 依明 阿吉 库尔班 热合曼 努尔 亚森 肉孜")
UYGHUR_FEMALE = _words("阿依古丽 古丽娜尔 热依拉 帕提曼 阿依努尔 迪丽拜尔 茹仙古丽 米热古丽 祖丽皮亚 海尼古丽")

# Ethnic composition (GB/T 3304 code → weight); Yunnan overall, then places where a people lives.
YUNNAN_ETHNICITY: list[tuple[str, int]] = [
    ("01", 670), ("07", 110), ("14", 30), ("16", 34), ("18", 26), ("08", 26), ("06", 26), ("03", 15),
    ("20", 15), ("24", 10), ("21", 9), ("27", 7), ("13", 4), ("04", 3), ("28", 3), ("34", 3),
    ("40", 1), ("39", 1), ("42", 1), ("46", 1), ("56", 1), ("51", 1), ("11", 1), ("02", 1), ("05", 3),
]
PREFECTURE_ETHNICITY: dict[str, list[tuple[str, int]]] = {
    "532900": [("01", 50), ("14", 34), ("07", 13), ("03", 2), ("20", 1)],  # 大理: Bai
    "532500": [("01", 45), ("07", 24), ("16", 19), ("06", 5), ("18", 2), ("08", 2), ("13", 2), ("03", 1)],
    "532600": [("01", 56), ("08", 29), ("06", 11), ("07", 2), ("13", 2)],  # 文山: Zhuang, Miao
    "532800": [("01", 30), ("18", 29), ("16", 20), ("24", 6), ("34", 6), ("07", 4), ("56", 2), ("13", 3)],
    "533100": [("01", 50), ("18", 30), ("28", 14), ("20", 3), ("39", 2), ("46", 1)],  # 德宏: Dai, Jingpo
    "533300": [("01", 20), ("20", 52), ("14", 25), ("42", 2), ("51", 1)],  # 怒江: Lisu
    "533400": [("01", 17), ("04", 33), ("20", 30), ("27", 12), ("14", 5), ("07", 3)],  # 迪庆: Tibetan
    "532300": [("01", 69), ("07", 28), ("20", 1), ("06", 1), ("03", 1)],  # 楚雄: Yi
    "530700": [("01", 43), ("27", 20), ("07", 20), ("20", 9), ("14", 4), ("40", 2), ("06", 2)],  # 丽江
    "530800": [("01", 39), ("16", 18), ("07", 17), ("24", 11), ("18", 5), ("21", 4), ("34", 3), ("13", 3)],
    "530900": [("01", 59), ("18", 9), ("21", 15), ("24", 7), ("07", 6), ("34", 3), ("03", 1)],  # 临沧: Va
    "530100": [("01", 85), ("07", 8), ("03", 3), ("06", 1), ("14", 1), ("20", 1), ("05", 1)],  # 昆明
}

# -- union units ----------------------------------------------------------------------------------

ENTERPRISES = _words(
    "纺织厂 水泥厂 机械厂 化肥厂 糖厂 茶厂 烟草公司 煤矿 钢铁厂 磷化工公司 建筑公司 运输公司 客运站 人民医院 "
    "供销社 食品厂 酒厂 印刷厂 造纸厂 林业局 农机厂 电力公司 自来水公司 百货公司 粮食购销公司 木材厂"
)
STREETS = _words(
    "城关 东城 西城 南城 北城 新华 人民 文化 龙泉 金星 太和 西山 凤鸣 玉龙 翠湖 金马 碧鸡 胜利 和平 "
    "东风 团结 光明 振兴 青年 建设 民主 红旗 解放 朝阳 长春"
)
COMMUNITIES = _words("春城 阳光 幸福 锦华 彩云 金泰 花园 桃源 月华 滨江 星光 康乐 福德 兴隆 南苑 北苑")
ROADS = _words("人民路 文化路 建设路 北京路 环城路 解放路 新华路 团结路 民族路 东风路 青年路 胜利路")

# -- file ------------------------------------------------------------------------------------------

CATEGORY_WEIGHTS = [("deep", 45), ("relative", 45), ("accident", 10)]
MIGRANT_SHARE = 0.03
# Main cause (Cause values) outside accident files: illness first, then laid off, no work capacity...
MAIN_CAUSE_WEIGHTS = [(6, 36), (3, 18), (1, 13), (9, 10), (2, 6), (8, 5), (4, 4), (5, 2), (7, 2), (10, 4)]
ACCIDENT_MAIN_CAUSE_WEIGHTS = [(8, 50), (6, 32), (7, 18)]
SECONDARY_COUNT_WEIGHTS = [(0, 30), (1, 35), (2, 25), (3, 10)]
OTHER_CAUSE_NOTES = ["家庭成员服刑", "单亲抚养子女", "房屋拆迁临时无住所", "赡养多位老人", "债务负担重"]
SIZE_WEIGHTS = [(1, 7), (2, 19), (3, 33), (4, 24), (5, 11), (6, 6)]  # mean ≈ 3.3
STATE_WEIGHTS = [
    ("active", 800), ("exited", 120), ("cancelled", 40), ("relieved", 20), ("temporary", 10), ("removed", 10),
]
TIER_WEIGHTS = [("county", 55), ("city", 25), ("grassroots", 10), ("province", 8), ("national", 2)]
SERIOUS_HEALTH = [
    ("malignant_tumour", 25), ("cardiovascular", 12), ("cerebrovascular", 12), ("end_stage_renal", 8),
    ("mental_illness", 8), ("liver_disease", 6), ("blood_disease", 4), ("diabetes", 10), ("lung_disease", 6),
    ("permanent_paralysis", 3), ("severe_parkinsons", 2), ("severe_alzheimers", 2), ("deep_coma", 1),
]
CHRONIC_HEALTH = [("hypertension", 40), ("diabetes", 20), ("spinal", 25), ("general_illness", 60)]
DISABILITY_TYPES = [
    ("physical", 45), ("visual", 12), ("hearing", 12), ("intellectual", 10), ("mental", 10), ("speech", 3),
    ("multiple", 8),
]
DISABILITY_NOTES = {
    "physical": "下肢残疾", "visual": "双眼视力残疾", "hearing": "听力残疾", "intellectual": "智力残疾",
    "mental": "精神残疾", "speech": "言语残疾", "multiple": "多重残疾",
}
HEAD_WORK_WEIGHTS = [
    ("employed", 40), ("laid_off", 15), ("unemployed", 20), ("sick_leave", 10), ("early_retired", 5),
    ("migrant_worker", 10),
]
HOUSING_WEIGHTS = [
    ("unit_public_rental", 15), ("low_rent", 15), ("commercial", 24), ("affordable", 8), ("price_capped", 2),
    ("self_built", 12), ("rented", 19), ("none", 2), ("other", 3),
]
OWNED_HOUSING = frozenset({"commercial", "affordable", "price_capped", "self_built"})
INSURANCE_WEIGHTS = [("employee", 45), ("resident", 45), ("none", 7), ("other", 3)]
EMPLOYER_TYPE_WEIGHTS = [
    ("state_owned", 30), ("collective", 10), ("private", 40), ("individual", 10), ("public_institution", 5),
    ("other", 5),
]
ENTERPRISE_STATE_WEIGHTS = [
    ("normal", 45), ("loss_making", 20), ("suspended", 12), ("restructured", 10), ("closed", 13),
]
INDUSTRIES = _words("制造业 建筑业 批发和零售业 交通运输业 住宿和餐饮业 居民服务业 采矿业 农林牧渔业 卫生和社会工作")
POLITICAL_WEIGHTS = [("masses", 85), ("cpc", 10), ("cyl", 3), ("democratic_party", 1), ("other", 1)]
BANKS = [
    ("中国工商银行", "622202"), ("中国农业银行", "622848"), ("中国建设银行", "621700"), ("中国银行", "621661"),
    ("中国邮政储蓄银行", "621799"), ("云南省农村信用社", "622995"), ("富滇银行", "622196"),
]
BANK_SHARE = 0.85
BUSINESS_COMPANIES = ["商贸有限公司", "建材经营部", "餐饮管理有限公司", "运输有限公司"]
# fmt: on
