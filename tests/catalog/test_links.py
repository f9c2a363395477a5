"""Host links: PCIe generations read from a card's `pcie_gen`, and the generic node built on them."""
from __future__ import annotations

import pytest

from suanli.catalog.links import pcie_unidir_gbps


def test_pcie_rates_per_generation_and_lanes():
    # Gen5: 32 GT/s per lane x 16 lanes / 8 bits = 64 GB/s each way (nominal); each generation doubles
    assert pcie_unidir_gbps("Gen5 x16") == (64.0, None)
    assert pcie_unidir_gbps("Gen4 x16")[0] == 32.0 == pcie_unidir_gbps("Gen5 x8")[0]
    assert pcie_unidir_gbps("PCIe Gen6 x16")[0] == 2 * pcie_unidir_gbps("Gen5 x16")[0]
    val, why = pcie_unidir_gbps("Gen5")
    assert val == 64.0 and "x16 assumed" in why
    val, why = pcie_unidir_gbps("Gen4/Gen5 x16")
    assert val == 32.0 and "ambiguous" in why
    assert pcie_unidir_gbps(None) == (None, None) and pcie_unidir_gbps("OAM") == (None, None)


def test_generic_node_uses_the_cards_pcie_generation(catalog):
    # MetaX C500: PCIe Gen5 x16 and no MetaXLink figure -> 64 GB/s per direction, not Gen4's 32
    c500 = catalog.system("hgx-8", hardware="metax-c500")
    assert c500.scaleup_bw_unidir_gbps.value == 64 and c500.scaleup_topology == "pcie"
    assert "Gen5" in c500.scaleup_bw_unidir_gbps.note
    # Iluvatar BI-V100: Gen4 x16 -> the generic 32
    assert catalog.system("hgx-8", hardware="iluvatar-bi-v100").scaleup_bw_unidir_gbps.value == 32


@pytest.mark.parametrize("hw", ["ascend-910b2", "ascend-910b4"])
def test_aggregate_card_links_count_half_per_direction(catalog, hw):
    # HCCS 392 GB/s aggregate (7 links, both directions): 196 each way over an 8-card mesh, the figure
    # the Atlas 800T A2 record gives the 910B3 on the same links
    node = catalog.system("hgx-8", hardware=hw)
    a2 = catalog.system("atlas-800-a2")
    assert node.scaleup_bw_unidir_gbps.value == pytest.approx(392 / 2) == a2.scaleup_bw_unidir_gbps.value
    assert node.scaleup_topology == a2.scaleup_topology == "mesh"
