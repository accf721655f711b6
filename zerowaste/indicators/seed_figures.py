"""Input values that reproduce the seed's published figures (seed:190-246), for the tests and the demo.

Where the seed gives the quantities (ISW 20.84万吨 and HW 4.508万吨 generated in 2020, value added
1,265亿元 implied by 0.02 吨/万元, 176,000 residents and 32 communities, seed:80, 256), they are used
as given; elsewhere the seed publishes only the rate, and the numerator and denominator here are
hand-worked to give it (e.g. 29 of 100 enterprises for 29 %). Keys derived from platform data in the
demo (declarations, licences) are marked in DERIVED_IN_DEMO and are not entered by the demo.
"""

from __future__ import annotations

SEED_2020: dict[str, str] = {
    # 1: (208,400 + 45,080) t ÷ 12,650,000 万元 = 0.02 吨/万元
    "isw_generated_t": "208400",
    "hw_generated_t": "45080",
    "value_added_wan": "12650000",
    # 2: 29 %
    "cp_level12_enterprises": "29",
    "cp_mandatory_enterprises": "100",
    "green_factories": "22",
    "eco_parks": "1",
    # 5: 97 %
    "green_building_area_m2": "970000",
    "new_civil_building_area_m2": "1000000",
    # 6: 220 t/d ÷ (100 % × 176,000) = 1.25 kg per person per day
    "household_daily_cleared_t": "220",
    "household_collection_coverage": "100",
    "resident_population": "176000",
    # 7: 32 of 32 communities
    "sorted_collection_communities": "32",
    "communities": "32",
    "zero_waste_cells": "78",
    # 9: 96 % of 208,400 t; no prior-year stock
    "isw_utilized_t": "200064",
    "isw_prior_stock_utilized_t": "0",
    # 10: 65 % of 45,080 t
    "hw_utilized_t": "29302",
    "hw_prior_stock_utilized_t": "0",
    # 11: 57 %
    "construction_utilized_t": "570000",
    "construction_generated_t": "1000000",
    # 12: 40 % of cleared ÷ coverage
    "household_cleared_t": "80300",
    "household_recycled_t": "32120",
    # 13: (51 − 50) ÷ 50 = 2 %
    "kitchen_recovery_rate": "51",
    "kitchen_recovery_rate_prev": "50",
    # 14: 100 %
    "medical_recyclables_recovered_t": "120",
    "medical_recyclables_generated_t": "120",
    # 15: 45,080 − 29,302 = 15,778 t = 1.58 万吨, all by licensed operators
    "hw_self_disposed_t": "0",
    "hw_licensed_disposal_t": "15778",
    "hw_stock_t": "0",
    "medical_institutions_covered": "40",
    "medical_institutions": "40",
    "social_hw_units_covered": "60",
    "social_hw_units": "60",
    # 18: 8,611 t stored and disposed
    "isw_stock_t": "0",
    "isw_disposed_t": "8611",
    # 19: 62.74 万吨; 20: 2.38 万吨
    "construction_landfilled_t": "627400",
    "household_landfilled_t": "23800",
    "hazardous_household_communities": "32",
    "residential_communities": "32",
    "policy_documents_status": "完成制定",
    "coordination_mechanism_status": "基本建立",
    "performance_assessment_status": "纳入",
    "hw_operators_insured": "3",
    "hw_operators": "3",
    "backbone_enterprises": "2",
    "household_tech_demos": "4",
    "hw_control_demos": "1",
    "sw_tech_demos": "1",
    "supervision_capacity_status": "基本完善",
    # 31: 100 % for producers and operators
    "hw_producers_passed": "120",
    "hw_producers_basically_passed": "0",
    "hw_producers_inspected": "120",
    "hw_operators_passed": "3",
    "hw_operators_basically_passed": "0",
    "hw_operators_inspected": "3",
    "sw_criminal_cases": "0",
    "sw_pollution_incidents": "0",
    "complaints_closed": "15",
    "complaints_received": "15",
    "publicity_reach_rate": "85",
    "participation_level": "较好",
    "public_satisfaction": "满意",
    # S1: 9,000 t ÷ 600,000 vehicles = 15 kg per vehicle
    "vehicle_plants_hw_t": "9000",
    "vehicles_produced": "600000",
    "voluntary_cp_audits_new": "18",
    "green_supply_chain_leaders": "3",
    # S4: 94 %
    "green_industrial_building_area_m2": "940000",
    "new_industrial_building_area_m2": "1000000",
    "park_waste_management_status": "基本建立",
    "enterprise_satisfaction": "满意",
}

# The seed's 2020 achieved column (seed:190-246) as the report prints it.
SEED_ACHIEVED_2020: dict[str, str] = {
    "1": "0.02", "2": "29", "3": "22", "4": "1", "5": "97", "6": "1.25", "7": "100", "8": "78",
    "9": "96", "10": "65", "11": "57", "12": "40", "13": "2.0", "14": "100", "15": "1.58",
    "16": "100", "17": "100", "18": "8611", "19": "62.74", "20": "2.38", "21": "100",
    "22": "完成制定", "23": "基本建立", "24": "纳入", "25": "100", "26": "2", "27": "4", "28": "1",
    "29": "1", "30": "基本完善", "31": "100", "32": "0", "33": "0", "34": "100", "35": "85",
    "36": "较好", "37": "满意", "S1": "15.0", "S2": "18", "S3": "3", "S4": "94", "S5": "基本建立",
    "S6": "满意",
}  # fmt: skip

SEED_2018: dict[str, str] = {
    "isw_generated_t": "233500",
    "hw_generated_t": "50300",
    "value_added_wan": "9460000",
    "cp_level12_enterprises": "14",
    "cp_mandatory_enterprises": "100",
    "green_factories": "7",
    "eco_parks": "1",
    "green_building_area_m2": "340000",
    "new_civil_building_area_m2": "1000000",
    "household_daily_cleared_t": "220",
    "household_collection_coverage": "100",
    "resident_population": "176000",
    "sorted_collection_communities": "32",
    "communities": "32",
    "zero_waste_cells": "0",
    "construction_utilized_t": "130000",
    "construction_generated_t": "1000000",
    "household_cleared_t": "80300",
    "household_recycled_t": "28105",
    # 13: (43.41 − 30) ÷ 30 = 44.7 %
    "kitchen_recovery_rate": "43.41",
    "kitchen_recovery_rate_prev": "30",
    "medical_recyclables_recovered_t": "95",
    "medical_recyclables_generated_t": "100",
    "medical_institutions_covered": "40",
    "medical_institutions": "40",
    "social_hw_units_covered": "60",
    "social_hw_units": "60",
    "construction_landfilled_t": "870000",
    "household_landfilled_t": "33800",
    "hazardous_household_communities": "32",
    "residential_communities": "32",
    "policy_documents_status": "暂无",
    "coordination_mechanism_status": "初步建立",
    "performance_assessment_status": "暂无",
    "hw_operators_insured": "0",
    "backbone_enterprises": "0",
    "household_tech_demos": "1",
    "hw_control_demos": "0",
    "sw_tech_demos": "0",
    "supervision_capacity_status": "基本建立",
    # 31: 19 of 20 producers passed = 95 %
    "hw_producers_passed": "19",
    "hw_producers_basically_passed": "0",
    "hw_producers_inspected": "20",
    "hw_operators_passed": "3",
    "hw_operators_basically_passed": "0",
    "hw_operators_inspected": "3",
    "sw_criminal_cases": "0",
    "sw_pollution_incidents": "0",
    "complaints_closed": "12",
    "complaints_received": "12",
    "participation_level": "暂无",
    "public_satisfaction": "暂无",
    # S1: 10,860 t ÷ 600,000 = 18.1 kg per vehicle
    "vehicle_plants_hw_t": "10860",
    "vehicles_produced": "600000",
    "voluntary_cp_audits_new": "8",
    "green_supply_chain_leaders": "0",
    "green_industrial_building_area_m2": "98200",
    "new_industrial_building_area_m2": "1000000",
    "park_waste_management_status": "暂无",
    "enterprise_satisfaction": "暂无",
}

# 2019: only what the lag of indicator 13 needs in the demo (the seed publishes no 2019 column).
SEED_2019: dict[str, str] = {"kitchen_recovery_rate": "50"}

DERIVED_IN_DEMO = frozenset(
    {
        "isw_generated_t",
        "hw_generated_t",
        "value_added_wan",
        "isw_utilized_t",
        "isw_prior_stock_utilized_t",
        "hw_utilized_t",
        "hw_prior_stock_utilized_t",
        "hw_self_disposed_t",
        "hw_licensed_disposal_t",
        "hw_stock_t",
        "isw_stock_t",
        "isw_disposed_t",
        "hw_operators",
    }
)
