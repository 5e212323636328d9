"""The words of the demo's synthetic records: hidden-danger descriptions and categories per class, accident
types, rectification measures, team and person names.  All invented; the categories follow the sector criteria
named in domain.md §8 (hazardous chemicals 2017, metal and non-metal mines 2022, the tailings criteria of §3, fire
hazards of GB 35181)."""

from __future__ import annotations

# (description, category) per class: general hidden dangers (一般事故隐患) ...
GENERAL_DANGERS = {
    "enterprise": (
        ("动火作业未办理审批手续", "作业管理"), ("可燃气体报警装置未定期校验", "安全设施"),
        ("安全出口被杂物堵塞", "消防安全"), ("特种作业人员证书过期", "人员资质"),
        ("安全警示标志缺失", "现场管理"), ("设备防护罩缺失", "设备设施"),
        ("配电箱未接地", "用电安全"), ("应急预案未组织演练", "应急管理"),
        ("储罐区防火堤有破损", "安全设施"), ("有限空间作业未检测气体", "作业管理"),
        ("劳保用品配备不全", "现场管理"), ("安全培训记录不完整", "安全管理"),
    ),
    "tailings_pond": (
        ("排洪设施局部淤堵", "排洪设施"), ("坝面出现冲沟", "坝体"), ("位移观测设施损坏", "监测设施"),
        ("干滩长度记录不全", "安全管理"), ("坝面排水沟堵塞", "排洪设施"), ("值班记录不完整", "安全管理"),
        ("库区警示标志缺失", "现场管理"),
    ),
    "venue": (
        ("疏散通道堆放杂物", "疏散通道"), ("应急照明损坏", "消防设施"), ("灭火器过期", "消防设施"),
        ("疏散指示标志缺失", "疏散通道"), ("消防控制室无人值守", "消防管理"), ("电气线路私拉乱接", "用电安全"),
        ("员工消防培训不足", "消防管理"),
    ),
    "pipeline": (
        ("标志桩缺失", "管道标识"), ("阴极保护电位不达标", "防腐"), ("巡线记录不完整", "巡护管理"),
        ("管道上方堆放物料", "第三方破坏"), ("穿越段警示牌损坏", "管道标识"),
    ),
}
# ... and major ones (重大事故隐患)
MAJOR_DANGERS = {
    "enterprise": (
        ("涉及重点监管危险化工工艺的装置未实现自动化控制", "危化品重大隐患判定标准"),
        ("构成重大危险源的储罐区未实现紧急切断功能", "危化品重大隐患判定标准"),
        ("外部安全防护距离不符合要求", "危化品重大隐患判定标准"),
        ("煤气区域未设置固定式一氧化碳检测报警装置", "工贸重大隐患判定标准"),
        ("粉尘爆炸危险场所未按规定设置泄爆装置", "工贸重大隐患判定标准"),
        ("主要负责人未依法取得安全生产知识和管理能力考核合格", "重大隐患判定标准"),
    ),
    "tailings_pond": (
        ("浸润线埋深小于控制浸润线埋深", "尾矿库重大隐患判定标准"),
        ("坝体出现贯穿性横向裂缝", "尾矿库重大隐患判定标准"),
        ("安全超高和干滩长度小于设计值", "尾矿库重大隐患判定标准"),
        ("排洪系统严重堵塞", "尾矿库重大隐患判定标准"),
    ),
    "venue": (
        ("安全出口数量不足", "GB 35181 重大火灾隐患"),
        ("未按规定设置自动喷水灭火系统", "GB 35181 重大火灾隐患"),
        ("人员密集场所内存放易燃易爆物品", "GB 35181 重大火灾隐患"),
    ),
    "pipeline": (
        ("管道中心线两侧5米范围内有违章建筑占压", "油气管道保护法第三十条"),
        ("高后果区管段未开展完整性评价", "GB 32167"),
    ),
}
GENERAL_MEASURES = "立即整改，落实专人负责，整改完成后报送整改报告"
MAJOR_MEASURES = ("制定重大隐患治理方案（措施、资金、责任人、时限、应急预案），治理期间采取临时安全措施，"
                  "完成后申请核查销号")

# Accident types (GB 6441-1986 categories, as the backtest reads them: geo/risk/model.toml [backtest]) per class
# and, for enterprises, per industry group: (type, probability).
ACCIDENT_TYPES = {
    "chemical": (("爆炸", 0.25), ("火灾", 0.25), ("中毒和窒息", 0.30), ("泄漏", 0.20)),
    "mining": (("坍塌", 0.35), ("冒顶片帮", 0.15), ("机械伤害", 0.20), ("高处坠落", 0.15), ("放炮", 0.15)),
    "metallurgy": (("灼烫", 0.25), ("机械伤害", 0.25), ("中毒和窒息", 0.20), ("高处坠落", 0.15), ("起重伤害", 0.15)),
    "dust": (("爆炸", 0.40), ("火灾", 0.20), ("机械伤害", 0.40)),
    "fireworks": (("爆炸", 0.80), ("火灾", 0.20)),
    "general": (("机械伤害", 0.35), ("高处坠落", 0.25), ("物体打击", 0.15), ("触电", 0.10), ("车辆伤害", 0.15)),
    "tailings_pond": (("坍塌", 0.70), ("溃坝", 0.10), ("淹溺", 0.20)),
    "venue": (("火灾", 0.40), ("踩踏", 0.10), ("坍塌", 0.10), ("触电", 0.10), ("高处坠落", 0.20), ("其他伤害", 0.10)),
    "pipeline": (("泄漏", 0.60), ("爆炸", 0.20), ("火灾", 0.20)),
    "unregistered": (("机械伤害", 0.40), ("高处坠落", 0.30), ("触电", 0.15), ("物体打击", 0.15)),
}
INDUSTRY_ACCIDENT_GROUP = {
    "hazardous_chemicals": "chemical", "oil_gas_storage": "chemical", "ammonia_refrigeration": "chemical",
    "mining": "mining", "metallurgy": "metallurgy", "dust_explosion": "dust", "fireworks": "fireworks",
}

TEAM_NUMBERS = ("一", "二", "三")
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗")
GIVEN_NAMES = list("伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚")
